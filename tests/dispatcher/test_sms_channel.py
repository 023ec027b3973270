"""SmsRuChannel against the SMS.ru stand-in over real HTTP: each refusal maps to its result kind."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from dispatcher.channels import smsru_wire as wire
from dispatcher.channels.base import SmsMessage
from dispatcher.channels.sms import SmsRuChannel
from ritm.sandbox.smsru_api import SmsRuStandin

PHONE = "+79001234567"


@pytest.fixture
async def standin() -> AsyncIterator[SmsRuStandin]:
    async with SmsRuStandin(balance=100.0) as server:
        yield server


@pytest.fixture
async def channel(standin: SmsRuStandin) -> AsyncIterator[SmsRuChannel]:
    sms = SmsRuChannel(standin.url, standin.api_id, "SCHOOL")
    yield sms
    await sms.close()


async def test_an_accepted_sms_carries_its_id_parts_and_sender(
    standin: SmsRuStandin, channel: SmsRuChannel
) -> None:
    text = "Доступ к курсу открыт до 23:59, код 4815. " * 3  # 126 Cyrillic characters: 2 UCS-2 parts
    result = await channel.send(SmsMessage(PHONE, text))
    [sent] = standin.to(PHONE)
    assert (result.kind, result.provider_id, result.sms_parts) == ("sent", sent.sms_id, 2)
    assert (sent.to, sent.text, sent.sender, sent.parts) == ("79001234567", text, "SCHOOL", 2)
    assert standin.balance == 92.0
    assert await channel.status(sent.sms_id) == wire.QUEUED


async def test_a_number_without_a_route_is_a_bad_address(
    standin: SmsRuStandin, channel: SmsRuChannel
) -> None:
    standin.unroutable.add("79001234567")
    result = await channel.send(SmsMessage(PHONE, "code 1234"))
    assert result.kind == "bad_address" and "202" in result.detail
    assert standin.sent == []


async def test_low_balance_is_retried_not_failed(standin: SmsRuStandin, channel: SmsRuChannel) -> None:
    standin.balance = 3.0  # one part costs 4
    result = await channel.send(SmsMessage(PHONE, "code 1234"))
    assert result.kind == "retry" and "201" in result.detail
    standin.balance = 10.0
    assert (await channel.send(SmsMessage(PHONE, "code 1234"))).kind == "sent"


async def test_a_temporary_outage_asks_for_a_pause_then_goes_through(
    standin: SmsRuStandin, channel: SmsRuChannel
) -> None:
    standin.fail_next(wire.UNAVAILABLE)
    refused = await channel.send(SmsMessage(PHONE, "code 1234"))
    assert (refused.kind, refused.retry_after_s) == ("retry", 60.0)
    assert (await channel.send(SmsMessage(PHONE, "code 1234"))).kind == "sent"
    assert len(standin.sent) == 1


async def test_a_wrong_api_id_keeps_the_message_for_when_the_key_is_fixed(standin: SmsRuStandin) -> None:
    sms = SmsRuChannel(standin.url, "not-the-key")
    try:
        result = await sms.send(SmsMessage(PHONE, "code 1234"))
    finally:
        await sms.close()
    assert result.kind == "retry" and "200" in result.detail and standin.sent == []


async def test_stop_list_is_blocked_and_empty_text_is_failed(
    standin: SmsRuStandin, channel: SmsRuChannel
) -> None:
    standin.fail_next(wire.STOP_LIST)
    assert (await channel.send(SmsMessage(PHONE, "code 1234"))).kind == "blocked"
    assert (await channel.send(SmsMessage(PHONE, "   "))).kind == "failed"


async def test_an_unreachable_gateway_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sms = SmsRuChannel(f"http://127.0.0.1:{port}", "key", timeout_s=2.0)
    try:
        result = await sms.send(SmsMessage(PHONE, "code 1234"))
    finally:
        await sms.close()
    assert result.kind == "retry" and "unreachable" in result.detail
