"""Our SMTP transaction sends what aiosmtplib's `sendmail` would, byte for byte, for less CPU."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.channels.email import EmailChannel
from dispatcher.channels.smtp_wire import send_wire, wire_form
from dispatcher.mime import render_email
from ritm.sandbox.smtp_server import CapturingSmtpServer
from tests.email_support import NOW, SENDER, message, settings_for

# Line ends of every kind, dots at line starts, and the bytes around them.
_PIECES = st.sampled_from([b"\r\n", b"\n", b"\r", b".", b"..", b"a", b"\r\n.", b"\xd0\x98", b" "])


BODY = b"Subject: x\r\n\r\nhi\r\n"


@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_wire_form_is_what_aiosmtplib_would_send(data: bytes) -> None:
    normal = normalize_message_line_endings(data)
    assert wire_form(data) == (PERIOD_REGEX.sub(b"..", normal) + b".\r\n", len(normal))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[CapturingSmtpServer]:
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp:
        yield smtp


async def test_lines_starting_with_a_dot_arrive_as_written(server: CapturingSmtpServer) -> None:
    email = message(text=".hidden\n..\n.\nend", html=None)
    sent = render_email(email, SENDER, domain="school.example", now=NOW)
    channel = EmailChannel(settings_for(server), clock=lambda: NOW)
    try:
        assert (await channel.send(email)).kind == "sent"
    finally:
        await channel.close()
    [got] = server.messages
    assert b"\r\n.hidden\r\n..\r\n.\r\nend" in got.raw
    assert got.raw.split(b"\r\nDate: ")[0] == sent.data.split(b"\r\nDate: ")[0]  # Message-IDs differ


async def test_a_refused_recipient_leaves_the_session_clean_for_the_next(server: CapturingSmtpServer) -> None:
    """After the refusal the RSET makes the next MAIL start a new envelope (no 503 for a nested MAIL)."""
    client = aiosmtplib.SMTP(hostname=server.host, port=server.port)
    await client.connect()
    try:
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await send_wire(client, "a@school.example", "bounce@example.com", BODY, utf8=False)
        assert refused.value.code == 550
        await send_wire(client, "a@school.example", "ok@example.com", BODY, utf8=False)
    finally:
        await client.quit()
    assert [(m.mail_from, m.rcpt_tos) for m in server.messages] == [("a@school.example", ("ok@example.com",))]
    assert server.sessions == 1


async def test_non_ascii_address_goes_only_where_the_server_offers_smtputf8(tmp_path: Path) -> None:
    for offers in (True, False):
        async with CapturingSmtpServer(smtputf8=offers) as server:
            client = aiosmtplib.SMTP(hostname=server.host, port=server.port)
            await client.connect()
            try:
                sending = send_wire(client, "a@school.example", "иван@пример.рф", b"x\r\n", utf8=True)
                if offers:
                    await sending
                else:
                    with pytest.raises(aiosmtplib.SMTPNotSupported):
                        await sending
            finally:
                await client.quit()
            assert [m.rcpt_tos for m in server.messages] == ([("иван@пример.рф",)] if offers else [])


async def test_a_server_that_stops_answering_is_a_retry_and_the_next_message_gets_a_fresh_session(
    server: CapturingSmtpServer,
) -> None:
    channel = EmailChannel(settings_for(server, timeout_s=0.2, pool_size=1), clock=lambda: NOW)
    try:
        server.hold("stuck@example.com")  # DATA is never answered while held
        started = asyncio.get_running_loop().time()
        result = await channel.send(message(to="stuck@example.com"))
        waited = asyncio.get_running_loop().time() - started
        assert result.kind == "retry"
        assert "Timed out" in result.detail
        assert 0.2 <= waited < 2.0  # one deadline for the transaction: four answers' worth of waiting
        assert (await channel.send(message(to="next@example.com"))).kind == "sent"
    finally:
        server.let_go()
        await channel.close()
    assert [m.rcpt_tos for m in server.messages][-1] == ("next@example.com",)
    assert server.sessions == 2  # the stuck session was closed, not reused out of step
