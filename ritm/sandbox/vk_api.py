"""A local VK API for tests and `ritm demo`: `messages.send` in VK's wire format over real HTTP.

It answers as VK does — HTTP 200 with `{"response": message_id}` or `{"error": {"error_code",
"error_msg", "request_params"}}` — checks the community token, the API version, `random_id` (a repeat
from the same peer returns the first message's id and sends nothing, as VK does), the message length
and the keyboard, keeps who allows the community's messages (901 for the others) and refuses more than
`rate_per_s` calls a second with error 6. Tests read what was sent and inject failures through Python
methods or HTTP under `/_standin/…`; `notify` plays VK's Callback API against our `/hooks/vk`.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
from aiohttp import web

from ritm.sandbox.http_standin import HttpStandin
from ritm.sandbox.telegram_limits import Clock

DEFAULT_VK_TOKEN = "vk1.a.standin-community-token-for-local-use-only"
DEFAULT_GROUP_ID = 100500
MAX_MESSAGE = 4096
MAX_INLINE_ROWS, MAX_ROW_BUTTONS, MAX_LABEL = 6, 5, 40
# VK's own wording for the errors the stand-in gives.
ERRORS = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    911: "Keyboard format is invalid",
    914: "Message is too long",
}


@dataclass(frozen=True)
class VkSent:
    """One message the community sent."""

    message_id: int
    peer_id: int
    random_id: int
    text: str
    keyboard: dict[str, Any] | None

    def links(self) -> list[tuple[str, str]]:
        """(label, link) of its open_link buttons."""
        rows = (self.keyboard or {}).get("buttons", [])
        return [(b["action"]["label"], b["action"]["link"]) for row in rows for b in row]


class VkError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = ERRORS.get(code, "Unknown error occurred") + (f": {detail}" if detail else "")


class VkStandin(HttpStandin):
    """The VK API stand-in: start it, give its URL to the VK channel, allow users, read what was sent."""

    def __init__(
        self,
        token: str = DEFAULT_VK_TOKEN,
        *,
        group_id: int = DEFAULT_GROUP_ID,
        allowed: Iterable[int] = (),
        rate_per_s: float = 20.0,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.token = token
        self.group_id = group_id
        self.allowed = set(allowed)
        self.rate_per_s = rate_per_s
        self.clock = clock
        self.sent: list[VkSent] = []
        self.calls = 0  # messages.send requests, refusals included
        self._by_random: dict[tuple[int, int], int] = {}
        self._recent: deque[float] = deque()
        self._failures: list[int] = []  # error codes forced on the next calls (fail_next)
        self._lose = 0  # next sends performed but answered by a dropped connection (lose_next_answers)

    # ---- lifecycle (HttpStandin; the base URL is `RITM_VK__API_URL`) -----------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/method/{method}", self._handle)
        app.router.add_get("/_standin/sent", self._control_sent)
        app.router.add_post("/_standin/fail", self._control_fail)
        app.router.add_post("/_standin/allow", self._control_allow)

    # ---- the test API ----------------------------------------------------------------------------
    def allow(self, user_id: int, allowed: bool = True) -> None:
        """The user allows (or denies) the community's messages."""
        (self.allowed.add if allowed else self.allowed.discard)(user_id)

    def fail_next(self, code: int, times: int = 1) -> None:
        """Answer the next `times` messages.send calls with VK error `code` (nothing is sent)."""
        self._failures.extend([code] * times)

    def lose_next_answers(self, times: int = 1) -> None:
        """Send the next `times` messages but drop the connection instead of answering (a lost answer)."""
        self._lose += times

    def sent_to(self, peer_id: int) -> list[VkSent]:
        return [m for m in self.sent if m.peer_id == peer_id]

    async def notify(
        self, url: str, kind: str, user_id: int, *, secret: str | None, event_id: str = "e1"
    ) -> tuple[int, str]:
        """Play VK's Callback API: POST a `message_allow` / `message_deny` (or `confirmation`) event to
        `url` as VK would; returns the HTTP status and the body. Allowing also changes our state."""
        body: dict[str, Any] = {"type": kind, "group_id": self.group_id, "event_id": event_id, "v": "5.199"}
        if kind != "confirmation":
            body["object"] = {"user_id": user_id, **({"key": "standin"} if kind == "message_allow" else {})}
        if secret is not None:
            body["secret"] = secret
        if kind in ("message_allow", "message_deny"):
            self.allow(user_id, kind == "message_allow")
        async with aiohttp.ClientSession() as session, session.post(url, json=body) as answer:
            return answer.status, await answer.text()

    # ---- the VK API ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        method = request.match_info["method"]
        try:
            if params.get("access_token") != self.token:
                raise VkError(5)
            if not params.get("v"):
                raise VkError(8)
            if method != "messages.send":
                raise VkError(3 if method else 100, f"unknown method {method}")
            self.calls += 1
            response = self._send(params)
        except VkError as exc:
            shown = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
            shown += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
            error = {"error_code": exc.code, "error_msg": exc.message, "request_params": shown}
            return web.json_response({"error": error})
        if self._lose > 0:
            self._lose -= 1
            if request.transport is not None:
                request.transport.abort()  # sent, but the answer never arrives
            return web.Response()
        return web.json_response({"response": response})

    def _send(self, params: dict[str, str]) -> int:
        self._pace()
        if self._failures:
            raise VkError(self._failures.pop(0))
        peer_id, random_id = _int(params, "peer_id"), _int(params, "random_id")
        first = self._by_random.get((peer_id, random_id)) if random_id else None
        if first is not None:
            return first  # VK's duplicate check: the same random_id sends nothing new
        text = params.get("message", "")
        if not text.strip():
            raise VkError(100, "message is empty")
        if len(text) > MAX_MESSAGE:
            raise VkError(914)
        keyboard = _keyboard(params.get("keyboard"))
        if peer_id not in self.allowed:
            raise VkError(901)
        message = VkSent(len(self.sent) + 1, peer_id, random_id, text, keyboard)
        self.sent.append(message)
        if random_id:
            self._by_random[(peer_id, random_id)] = message.message_id
        return message.message_id

    def _pace(self) -> None:
        now = self.clock()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.rate_per_s:
            raise VkError(6)
        self._recent.append(now)

    # ---- control over HTTP -----------------------------------------------------------------------
    async def _control_sent(self, request: web.Request) -> web.Response:
        return web.json_response({"sent": [asdict(m) for m in self.sent], "calls": self.calls})

    async def _control_fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.fail_next(int(body["error_code"]), int(body.get("times", 1)))
        return web.json_response({"ok": True})

    async def _control_allow(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.allow(int(body["user_id"]), bool(body.get("allowed", True)))
        return web.json_response({"ok": True})


def _int(params: dict[str, str], name: str) -> int:
    try:
        return int(params[name])
    except (KeyError, ValueError):
        raise VkError(100, f"{name} is a required integer") from None


def _keyboard(text: str | None) -> dict[str, Any] | None:
    """The keyboard as VK checks it: inline, at most 6 rows of 5 buttons, open_link with a label."""
    if not text:
        return None
    try:
        keyboard = json.loads(text)
        rows = keyboard["buttons"]
        ok = isinstance(rows, list) and len(rows) <= MAX_INLINE_ROWS
        for row in rows:
            ok = ok and isinstance(row, list) and 0 < len(row) <= MAX_ROW_BUTTONS
            for button in row:
                action = button["action"]
                ok = ok and action["type"] == "open_link" and str(action["link"]).startswith("http")
                ok = ok and 0 < len(action["label"]) <= MAX_LABEL
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise VkError(911)
    return dict(keyboard)
