"""One SMTP mail transaction for a message we built ourselves, on a pooled aiosmtplib connection.

aiosmtplib's `sendmail` takes any message from anyone, so for each one it parses both addresses
twice and runs its line-ending regex over the whole body twice (once to size it for SIZE, once to
send it) and its dot-stuffing regex once: about 0.2 ms of CPU for an 8 KB message, a fifth of what
`ritm run` spends on a message besides the socket writes. Our messages come out of dispatcher/mime.py
already CRLF-terminated with checked addresses, so this sends the same commands (MAIL, RCPT, DATA;
RSET after a refusal, as `sendmail` does) and stuffs the dots with one `bytes.replace`. The
connection, TLS, login and every reply's parsing stay aiosmtplib's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import aiosmtplib
from aiosmtplib import SMTPStatus

_LONE_LINE_END = re.compile(rb"\r\n|\r|\n")


def wire_form(data: bytes) -> tuple[bytes, int]:
    """`data` as it goes after DATA (CRLF line ends, dots stuffed, the final `.` line) and its SIZE
    (RFC 1870: the octets of the CRLF message before stuffing)."""
    if data.count(b"\n") != data.count(b"\r\n") or data.count(b"\r") != data.count(b"\r\n"):
        data = _LONE_LINE_END.sub(b"\r\n", data)  # a lone CR or LF (never from our MIME writer)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    size = len(data)
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n", size


async def send_wire(client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes, *, utf8: bool) -> None:
    """MAIL, RCPT and DATA for one recipient on a connected `client`.

    Raises what `client.sendmail` raises for the same answers: SMTPSenderRefused,
    SMTPRecipientRefused, SMTPDataError (after an RSET, so the session stays usable),
    SMTPNotSupported, SMTPServerDisconnected and timeouts (the connection closed).
    """
    if client.is_ehlo_or_helo_needed:
        await _greet(client)
    options: list[bytes] = []
    if utf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        options.append(b"SMTPUTF8")
    wire, size = wire_form(data)
    if client.supports_extension("size"):
        options.insert(0, b"SIZE=%d" % size)
    encoding = "utf-8" if utf8 else "ascii"
    # One deadline for the transaction's four answers, not a `wait_for` around each (a timer, a task
    # and a future apiece); a server that hangs is given up on just as soon as four waits would allow.
    try:
        async with asyncio.timeout(4 * client.timeout if client.timeout else None):
            await _transaction(client, sender.encode(encoding), recipient.encode(encoding), wire, options)
    except TimeoutError:
        client.close()  # a reply given up on would pair with the next command: start afresh
        raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for the server's answer") from None


async def _transaction(
    client: aiosmtplib.SMTP, sender: bytes, recipient: bytes, wire: bytes, options: list[bytes]
) -> None:
    try:
        reply = await client.execute_command(b"MAIL", b"FROM:<" + sender + b">", *options, timeout=None)
        if reply.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender.decode())
        reply = await client.execute_command(b"RCPT", b"TO:<" + recipient + b">", timeout=None)
        if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, recipient.decode())
        reply = await client.execute_command(b"DATA", timeout=None)
        if reply.code != SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
        reply = await _content(client, wire)
        if reply.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
    except aiosmtplib.SMTPResponseException:
        await _reset(client)
        raise


async def _content(client: aiosmtplib.SMTP, wire: bytes) -> aiosmtplib.SMTPResponse:
    """The message and its final dot, and the server's verdict on it (the 354 already came)."""
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        # No await between the write and `read_response`, which arms the reply before any can arrive.
        protocol.write(wire)
        reply = await protocol.read_response(timeout=None)
    except aiosmtplib.SMTPServerDisconnected:
        client.close()
        raise
    if reply.code == SMTPStatus.domain_unavailable:
        client.close()
    return reply


async def _greet(client: aiosmtplib.SMTP) -> None:
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        await client.helo()


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refusal, as `sendmail` does; a server already gone is not a second error."""
    if not client.is_connected:
        return
    with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
        await client.rset()
