"""The SMS channel: one message through SMS.ru's JSON API (`sms/send`, `json=1`), mapped to a result.

SMS.ru refuses either the whole request (top-level `status_code`) or one number (inside `sms`); both
go through the same table here. What the operator must fix (the key, the balance, the sender name)
stays `retry` — the message is not at fault and goes out once fixed, within its deadline — and is
logged as an error once per answer; a number SMS.ru cannot reach is `bad_address` (the worker
suppresses it for SMS); a number in SMS.ru's stop list is `blocked` (the subscriber said stop: consent
revoked). A network error or an unreadable answer is `retry`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from dispatcher.channels import smsru_wire as wire
from dispatcher.channels.base import ResultKind, SendResult, SmsMessage
from policy.sms import sms_parts

log = logging.getLogger(__name__)

_KIND: dict[int, ResultKind] = {
    wire.BAD_API_ID: "retry",
    wire.LOW_BALANCE: "retry",
    wire.SENDER_NOT_APPROVED: "retry",
    wire.DAILY_LIMIT: "retry",
    wire.UNAVAILABLE: "retry",
    wire.NUMBER_DAY_LIMIT: "retry",
    wire.SAME_TEXT_MINUTE: "retry",
    wire.BAD_NUMBER: "bad_address",
    wire.NUMBER_FORBIDDEN: "bad_address",
    wire.STOP_LIST: "blocked",
}
# Refusals only the operator can lift: worth an error in the log, not just a retry line.
_OPERATOR = frozenset({wire.BAD_API_ID, wire.LOW_BALANCE, wire.SENDER_NOT_APPROVED, wire.DAILY_LIMIT})
# SMS.ru asks for a pause before the next attempt on these.
_RETRY_AFTER_S = {wire.UNAVAILABLE: 60.0, wire.SAME_TEXT_MINUTE: 60.0}


class SmsRuChannel:
    """The SmsSender port over SMS.ru's HTTP API."""

    def __init__(self, api_url: str, api_id: str, sender: str = "", *, timeout_s: float = 15.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_id = api_id
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: SmsMessage) -> SendResult:
        number = message.to.lstrip("+")
        form = {"api_id": self.api_id, "to": number, "msg": message.text, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        answer = await self._call("/sms/send", form)
        if isinstance(answer, SendResult):
            return answer
        top = _code(answer)
        if answer.get("status") != "OK" or top != wire.OK:
            return self._refused(top, answer)
        item = (answer.get("sms") or {}).get(number)
        if not isinstance(item, dict):
            return SendResult("retry", detail=f"SMS.ru answered without the number {number}")
        code = _code(item)
        if item.get("status") == "OK" and code == wire.OK and item.get("sms_id"):
            return SendResult(
                "sent", provider_id=str(item["sms_id"]), sms_parts=sms_parts(message.text).parts
            )
        return self._refused(code, item)

    async def status(self, sms_id: str) -> int | None:
        """The message's status code by `sms/status` (None when SMS.ru could not say)."""
        answer = await self._call("/sms/status", {"api_id": self.api_id, "sms_id": sms_id, "json": "1"})
        if isinstance(answer, SendResult):
            return None
        item = (answer.get("sms") or {}).get(sms_id)
        return _code(item) if isinstance(item, dict) else None

    async def _call(self, path: str, form: dict[str, str]) -> dict[str, Any] | SendResult:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.api_url + path, data=form) as response:
                body = await response.text()
                if response.status != 200:
                    return SendResult("retry", detail=f"SMS.ru answered HTTP {response.status}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult("retry", detail=f"SMS.ru unreachable: {type(exc).__name__} {exc}".strip())
        try:
            answer = json.loads(body)
        except ValueError:
            return SendResult("retry", detail="SMS.ru answered something that is not JSON")
        if not isinstance(answer, dict):
            return SendResult("retry", detail="SMS.ru answered something that is not a JSON object")
        return answer

    @staticmethod
    def _refused(code: int | None, item: dict[str, Any]) -> SendResult:
        text = str(item.get("status_text") or wire.STATUS_TEXT.get(code or 0, ""))[:200]
        detail = f"SMS.ru {code}: {text}".strip()
        kind = _KIND.get(code or 0, "failed")
        if code in _OPERATOR:
            log.error(
                "sms.ru refused the account", extra={"event": "smsru_refused", "code": code, "why": text}
            )
        return SendResult(kind, retry_after_s=_RETRY_AFTER_S.get(code or 0), detail=detail)


def _code(item: object) -> int | None:
    value = item.get("status_code") if isinstance(item, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
