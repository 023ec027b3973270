"""The email channel against a real aiosmtpd server on loopback: delivery, pooling, and every failure kind."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from dispatcher.calendar import event_ics
from dispatcher.channels.email import EmailChannel
from dispatcher.mime import unsubscribe_headers
from dispatcher.ratelimit import RateLimiter, RateLimits
from ritm.sandbox.smtp_server import CapturingSmtpServer
from tests.email_support import NOW, ics_attachment, message, settings_for, tls_pair


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[CapturingSmtpServer]:
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp:
        yield smtp


@pytest.fixture
async def channel(server: CapturingSmtpServer) -> AsyncIterator[EmailChannel]:
    email_channel = EmailChannel(settings_for(server), clock=lambda: NOW)
    try:
        yield email_channel
    finally:
        await email_channel.close()


async def test_sent_message_arrives_whole(server: CapturingSmtpServer, channel: EmailChannel) -> None:
    headers = unsubscribe_headers("https://school.example/u/TOKEN", "unsubscribe@school.example")
    ics = event_ics(
        uid="w@school.example",
        title="Эфир",
        starts_at=NOW + timedelta(days=2),
        duration=timedelta(minutes=90),
        url="https://school.example/live",
        stamp=NOW,
    )
    result = await channel.send(
        message(to="Иван <ivan@example.com>", headers=headers, attachments=ics_attachment(ics))
    )
    assert result.kind == "sent"
    [got] = server.messages
    assert got.mail_from == "noreply@school.example"
    assert got.rcpt_tos == ("ivan@example.com",)
    assert got.message["Message-ID"] == result.provider_id
    assert got.message["Subject"] == "Эфир: база как актив — начинаем в 19:00"
    assert (
        got.message["List-Unsubscribe"]
        == "<https://school.example/u/TOKEN>, <mailto:unsubscribe@school.example>"
    )
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in got.message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar_part = next(p for p in got.message.walk() if p.get_content_type() == "text/calendar")
    payload = calendar_part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    event = Calendar.from_ical(payload).walk("VEVENT")[0]
    assert event.decoded("dtstart") == NOW + timedelta(days=2)
    assert event.decoded("dtend") == NOW + timedelta(days=2, minutes=90)
    # The sandbox also keeps the message as an .eml file with exactly the bytes received.
    assert got.path is not None
    assert got.path.read_bytes() == got.raw


async def test_message_ids_are_unique_per_send(server: CapturingSmtpServer, channel: EmailChannel) -> None:
    results = [await channel.send(message(to=f"u{i}@example.com")) for i in range(10)]
    ids = [r.provider_id for r in results]
    assert len(set(ids)) == 10
    assert [m.message["Message-ID"] for m in server.messages] == ids


async def test_pool_of_two_reuses_its_connections(server: CapturingSmtpServer, channel: EmailChannel) -> None:
    results = await asyncio.gather(*(channel.send(message(to=f"u{i}@example.com")) for i in range(40)))
    assert {r.kind for r in results} == {"sent"}
    assert len(server.messages) == 40
    assert server.sessions <= 2
    assert channel.pool.connects <= 2
    assert {m.session for m in server.messages} <= {1, 2}
    more = [await channel.send(message(to=f"later{i}@example.com")) for i in range(5)]
    assert {r.kind for r in more} == {"sent"}
    assert server.sessions <= 2


@pytest.mark.parametrize(
    ("address", "kind", "code"),
    [
        ("tempfail@example.com", "retry", "451"),
        ("greylist@example.com", "retry", "450"),
        ("bounce@example.com", "hard_bounce", "550"),
        ("mailbox-full@example.com", "retry", "552"),
        ("policy-block@example.com", "failed", "550"),
        ("reject-content@example.com", "failed", "554"),
    ],
)
async def test_provider_answers_map_to_result_kinds(
    server: CapturingSmtpServer, channel: EmailChannel, address: str, kind: str, code: str
) -> None:
    result = await channel.send(message(to=address))
    assert result.kind == kind
    assert result.detail.startswith(code)
    assert server.messages == []
    # The refusal left the pooled session usable: the next message goes through on it.
    assert (await channel.send(message(to="ok@example.com"))).kind == "sent"
    assert server.sessions == 1


async def test_recipient_bounce_arrives_as_a_hard_bounce_only_for_that_address(
    server: CapturingSmtpServer, channel: EmailChannel
) -> None:
    kinds = [(await channel.send(message(to=a))).kind for a in ["a@example.com", "bounce-me@example.com"]]
    assert kinds == ["sent", "hard_bounce"]
    assert [m.rcpt_tos for m in server.messages] == [("a@example.com",)]


async def test_421_outage_retries_then_succeeds_when_it_ends(
    server: CapturingSmtpServer, channel: EmailChannel
) -> None:
    assert (await channel.send(message(to="warm@example.com"))).kind == "sent"  # a pooled session exists
    server.start_outage("421")
    during = [await channel.send(message(to=f"o{i}@example.com")) for i in range(3)]
    assert [r.kind for r in during] == ["retry"] * 3
    assert all(r.detail.startswith("421") for r in during)
    server.end_outage()
    after = await channel.send(message(to="o0@example.com"))
    assert after.kind == "sent"
    assert [m.rcpt_tos for m in server.messages] == [("warm@example.com",), ("o0@example.com",)]


async def test_dropped_connections_retry_then_succeed(
    server: CapturingSmtpServer, channel: EmailChannel
) -> None:
    server.start_outage("drop")
    result = await channel.send(message())
    assert result.kind == "retry"
    assert server.refused_connections >= 1
    server.end_outage()
    assert (await channel.send(message())).kind == "sent"


async def test_session_closed_by_the_server_is_reopened_transparently(
    server: CapturingSmtpServer, channel: EmailChannel
) -> None:
    assert (await channel.send(message(to="first@example.com"))).kind == "sent"
    server.drop_sessions()  # what an idle timeout on the provider's side does
    await asyncio.sleep(0)  # one loop turn for the close to reach the client
    second = await channel.send(message(to="second@example.com"))
    assert second.kind == "sent"
    assert server.sessions == 2
    assert [m.session for m in server.messages] == [1, 2]


async def test_connection_refused_is_a_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    closed = CapturingSmtpServer(port=free_port)  # never started: nothing listens there
    channel = EmailChannel(settings_for(closed))
    try:
        result = await channel.send(message())
    finally:
        await channel.close()
    assert result.kind == "retry"
    assert "refused" in result.detail.lower() or "connect" in result.detail.lower()


async def test_oversized_message_is_failed_not_retried(tmp_path: Path) -> None:
    async with CapturingSmtpServer(data_size_limit=2_000) as small:
        channel = EmailChannel(settings_for(small))
        try:
            result = await channel.send(message(text="x" * 5_000))
        finally:
            await channel.close()
    assert result.kind == "failed"
    assert result.detail.startswith("552")
    assert small.messages == []


async def test_bad_address_and_broken_headers_never_reach_the_wire(
    server: CapturingSmtpServer, channel: EmailChannel
) -> None:
    assert (await channel.send(message(to="not an address"))).kind == "bad_address"
    assert (await channel.send(message(to="a b@example.com"))).kind == "bad_address"
    broken = await channel.send(message(headers={"X-Tag": "a\r\nBcc: all@example.com"}))
    assert broken.kind == "failed"
    assert "cannot build" in broken.detail
    assert server.messages == []
    assert server.sessions == 0


async def test_close_quits_pooled_sessions(server: CapturingSmtpServer) -> None:
    channel = EmailChannel(settings_for(server))
    assert (await channel.send(message())).kind == "sent"
    await channel.close()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not any(p.transport is not None for p in server._live)
    after = await channel.send(message())
    assert after.kind == "retry"
    assert "closed" in after.detail


async def test_rate_limit_spaces_messages_by_the_configured_rate(server: CapturingSmtpServer) -> None:
    fake_now = [100.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        fake_now[0] += seconds

    settings = settings_for(server, rate_per_s=4.0)
    assert EmailChannel(settings).limiter.limits.per_s == 4.0  # the provider's rate comes from settings
    limits = RateLimits(per_s=settings.rate_per_s, per_key_per_s=None, per_group_per_min=None)
    channel = EmailChannel(settings, limiter=RateLimiter(limits, clock=lambda: fake_now[0], sleep=fake_sleep))
    try:
        results = [await channel.send(message(to=f"r{i}@example.com")) for i in range(5)]
    finally:
        await channel.close()
    assert {r.kind for r in results} == {"sent"}
    assert waits == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert fake_now[0] == pytest.approx(101.0)


async def test_starttls_and_login_from_settings(tmp_path: Path) -> None:
    server_tls, client_tls = tls_pair(tmp_path)
    async with CapturingSmtpServer(tls_context=server_tls, credentials={"crm": "pa55"}) as secure:
        good = EmailChannel(
            settings_for(secure, tls="starttls", user="crm", password="pa55"), tls_context=client_tls
        )
        wrong = EmailChannel(
            settings_for(secure, tls="starttls", user="crm", password="nope"), tls_context=client_tls
        )
        plain = EmailChannel(settings_for(secure))  # no TLS, no login: the server requires both
        try:
            sent = await good.send(message())
            refused = await wrong.send(message())
            unauthenticated = await plain.send(message())
        finally:
            for channel in (good, wrong, plain):
                await channel.close()
    assert sent.kind == "sent"
    assert refused.kind == "failed"
    assert "login refused" in refused.detail
    assert unauthenticated.kind == "failed"
    assert len(secure.messages) == 1
