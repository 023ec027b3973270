"""The capturing SMTP server itself, spoken to by a plain aiosmtplib client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiosmtplib
import pytest

from ritm.sandbox.smtp_server import CapturingSmtpServer

RAW = b"From: a@school.example\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


async def send(server: CapturingSmtpServer, to: str, data: bytes = RAW) -> None:
    async with aiosmtplib.SMTP(
        hostname=server.host, port=server.port, start_tls=False, local_hostname="localhost"
    ) as client:
        await client.sendmail("a@school.example", [to], data)


def eml_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.eml"))


async def test_binds_an_ephemeral_loopback_port_and_captures(tmp_path: Path) -> None:
    async with CapturingSmtpServer(directory=tmp_path) as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        await asyncio.gather(*(send(server, f"u{i}@example.com") for i in range(6)))
        assert server.accepted == 6
        assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(f"u{i}@example.com" for i in range(6))
        assert server.to("u3@example.com")[0].message["Subject"] == "hi"
        server.clear()
        await send(server, "late@example.com")
    files = eml_names(tmp_path)
    # Concurrent sessions and a clear() never reuse a file name.
    assert files == [f"{i:06d}.eml" for i in range(1, 8)]
    assert (tmp_path / "000007.eml").read_bytes() == server.messages[0].raw


async def test_discard_mode_counts_but_keeps_nothing() -> None:
    async with CapturingSmtpServer(capture=False) as server:
        await send(server, "x@example.com")
    assert server.accepted == 1
    assert server.messages == []


async def test_recipient_rules_answer_like_a_provider() -> None:
    async with CapturingSmtpServer() as server:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as bounced:
            await send(server, "Bounce.Me@example.com")
        assert bounced.value.recipients[0].code == 550
        server.rcpt_replies["vip"] = "451 4.7.1 Slow down"
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as deferred:
            await send(server, "vip@example.com")
        assert deferred.value.recipients[0].code == 451
        assert server.messages == []


async def test_outage_greets_with_421_until_it_ends() -> None:
    async with CapturingSmtpServer() as server:
        server.start_outage("421")
        with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
            await send(server, "x@example.com")
        assert refused.value.code == 421
        assert server.refused_connections == 1
        server.end_outage()
        await send(server, "x@example.com")
        assert server.accepted == 1


async def test_runs_as_a_module_and_reports_its_port() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm.sandbox.smtp_server", "--discard", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, local_hostname="localhost"
        ) as client:
            errors, _ = await client.sendmail("a@school.example", ["b@example.com"], RAW)
        assert errors == {}
    finally:
        process.terminate()
        await process.wait()
