"""The VK channel: community messages through the VK API's `messages.send` (v5.199), paced, each answer
mapped to a result.

Idempotency: every message carries `random_id`, a stable hash of its outbox row. VK sends one message
per community and random_id, so a retry after a lost answer (the request reached VK, its answer never
reached us) gets the first message's id back instead of a second message.

Errors (VK's codes): 900/901/902 — the user does not allow the community's messages → `blocked`
(consent revoked); 6 (too many requests per second) and 9 (flood control) → the channel pauses and its
rate is halved (dispatcher.pacing, as for a Telegram 429), then the message is tried again — or goes
back to the outbox as `retry` when the pauses outlast `max_wait_s`; 5 (the token is rejected) → `retry`
(the rows wait for the operator to fix the token) and one error line until a send succeeds again;
1, 10 and network trouble → `retry`; anything else (a malformed message) → `failed`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from dispatcher.channels.base import Button, SendResult, VkMessage
from dispatcher.ratelimit import Clock, RateLimiter, RateLimits

log = logging.getLogger(__name__)

API_VERSION = "5.199"
DEFAULT_API_URL = "https://api.vk.com"
BLOCKED = frozenset({900, 901, 902})  # blacklisted us, no permission, privacy settings
TOKEN_REJECTED = 5
TRANSIENT = frozenset({1, 10})  # unknown error, internal server error
# VK names no retry_after: how long the channel pauses after each kind of refusal.
PAUSE_S = {6: 1.0, 9: 30.0}
MAX_BUTTON_LABEL = 40  # VK's limit for an open_link button's label
MAX_LENGTH = 4096  # VK's limit for a message's text (error 914 beyond)


def random_id_of(outbox_id: int, campaign_id: str, contact_id: str, step: int) -> int:
    """The row's `random_id`: the same for every attempt at this row, a positive 31-bit integer (VK
    reads it as int32; 0 would turn the duplicate check off)."""
    digest = hashlib.sha256(f"{outbox_id}:{campaign_id}:{contact_id}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1) + 1


def keyboard_json(rows: tuple[tuple[Button, ...], ...]) -> str | None:
    """Link buttons as VK's inline keyboard (`open_link` actions)."""
    if not rows:
        return None
    buttons = []
    for row in rows:
        line = []
        for button in row:
            if button.url is None:
                raise ValueError(f"button {button.text!r} needs a url: VK messages carry link buttons only")
            label = button.text if len(button.text) <= MAX_BUTTON_LABEL else button.text[:39] + "…"
            line.append({"action": {"type": "open_link", "link": button.url, "label": label}})
        buttons.append(line)
    return json.dumps({"inline": True, "buttons": buttons}, ensure_ascii=False)


class VkChannel:
    """The VkSender port over VK's HTTP API (a community token; `api_url` points at a stand-in in tests)."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        rate_per_s: float = 20.0,
        limiter: RateLimiter | None = None,
        timeout_s: float = 10.0,
        max_wait_s: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.token = token
        self.method_url = f"{api_url.rstrip('/')}/method/messages.send"
        self.limiter = limiter or RateLimiter(
            RateLimits(per_s=rate_per_s, per_key_per_s=None, per_group_per_min=None), clock=clock
        )
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.refusals = 0  # 6 and 9 answers, for tests and logs
        self.token_rejected = False  # logged once until a send succeeds again
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, message: VkMessage) -> SendResult:
        """Send one message; the result says sent / retry / blocked / failed."""
        try:
            keyboard = keyboard_json(message.buttons)
        except ValueError as exc:
            return SendResult("failed", detail=str(exc))
        form = {
            "access_token": self.token,
            "v": API_VERSION,
            "peer_id": str(message.peer_id),
            "random_id": str(message.random_id),
            "message": message.text,
            "dont_parse_links": "1",
        }
        if keyboard is not None:
            form["keyboard"] = keyboard
        return await self._deliver(message.peer_id, lambda: self._post(form))

    async def _post(self, form: dict[str, str]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        async with self._session.post(self.method_url, data=form) as answer:
            return await answer.json(content_type=None)

    async def _deliver(self, peer_id: int, call: Callable[[], Awaitable[Any]]) -> SendResult:
        give_up_at = self.clock() + self.max_wait_s
        while True:
            async with self.limiter.slot() as generation:
                try:
                    answer = await call()
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    # The request may have reached VK: the retry carries the same random_id.
                    return SendResult(
                        "retry", detail=f"VK API unreachable: {type(exc).__name__} {exc}".strip()
                    )
            if not isinstance(answer, dict):
                return SendResult("retry", detail="unreadable answer from the VK API")
            if "response" in answer:
                self.limiter.accepted()
                self.token_rejected = False
                return SendResult("sent", provider_id=f"vk:{peer_id}:{answer['response']}")
            found = answer.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            code, text = error.get("error_code"), str(error.get("error_msg", "no error message"))
            detail = f"VK error {code}: {text}"
            pause_s = PAUSE_S.get(code) if isinstance(code, int) else None
            if pause_s is None:
                return self._result_of(code, detail, peer_id)
            self.refusals += 1
            cut = self.limiter.refused(generation, pause_s)
            log.warning(
                "vk flood control",
                extra={
                    "event": "vk_flood",
                    "peer_id": peer_id,
                    "error_code": code,
                    "pause_s": pause_s,
                    "rate_per_s": round(self.limiter.rate_per_s, 3),
                    "rate_cut": cut,
                },
            )
            if self.clock() + pause_s > give_up_at:
                return SendResult("retry", retry_after_s=pause_s, detail=detail)

    def _result_of(self, code: object, detail: str, peer_id: int) -> SendResult:
        if code in BLOCKED:
            return SendResult("blocked", detail=detail)
        if code == TOKEN_REJECTED:
            # Our token is wrong, not the message: keep the rows for when the operator fixes it.
            if not self.token_rejected:
                self.token_rejected = True
                log.error(
                    "VK rejected the community token: set RITM_VK__TOKEN to a valid community token;"
                    " VK messages wait until then",
                    extra={"event": "vk_token_rejected", "peer_id": peer_id},
                )
            return SendResult("retry", detail=detail)
        if code in TRANSIENT:
            return SendResult("retry", detail=detail)
        return SendResult("failed", detail=detail)
