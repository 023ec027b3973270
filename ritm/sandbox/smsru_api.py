"""A local SMS.ru stand-in for tests and `ritm demo`: SMS.ru's JSON API over real HTTP, with its errors.

    POST|GET /sms/send    api_id, to (digits, comma-separated), msg, from?, json=1
    POST|GET /sms/status  api_id, sms_id (comma-separated), json=1
    POST|GET /my/balance  api_id, json=1

Answers have SMS.ru's shapes: `{"status": "OK", "status_code": 100, "sms": {"79001234567": {"status":
"OK", "status_code": 100, "sms_id": "…"}}, "balance": 96.0}`, a refused number `{"status": "ERROR",
"status_code": 202, "status_text": "…"}` inside `sms`, a refused request at the top level (200 wrong
api_id, 201 low balance, 203 no text, 220 temporarily unavailable).

Control (tests call the methods; another process the HTTP routes under `/_standin/…`):
GET  /_standin/sent                          what was accepted, in order
POST /_standin/fail     {"code", "times"?}   the next `times` sends (default 1) are refused with `code`
POST /_standin/balance  {"balance"}          set the account's balance
POST /_standin/unroutable {"phone"}          a number SMS.ru has no route to (202)
POST /_standin/report   {"sms_id", "code"}   a delivery report: posted to the callback URL, signed
POST /_standin/callback {"url"}              where delivery reports go
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
from aiohttp import web

from dispatcher.channels import smsru_wire as wire
from policy.sms import sms_parts
from ritm.sandbox.http_standin import HttpStandin

log = logging.getLogger(__name__)

DEFAULT_API_ID = "00000000-0000-0000-0000-000000000000"
MAX_NUMBERS = 100


@dataclass
class SentSms:
    sms_id: str
    to: str  # digits, as SMS.ru takes them
    text: str
    sender: str
    parts: int
    cost: float
    status_code: int = wire.QUEUED


class SmsRuStandin(HttpStandin):
    """The SMS.ru stand-in: start it, point RITM_SMS__API_URL at it, read `sent`, inject failures."""

    def __init__(
        self, api_id: str = DEFAULT_API_ID, *, balance: float = 1000.0, price_per_part: float = 4.0
    ) -> None:
        super().__init__()
        self.api_id = api_id
        self.balance = balance
        self.price_per_part = price_per_part
        self.sent: list[SentSms] = []
        self.unroutable: set[str] = set()
        self.callback_url: str | None = None
        self.requests = 0
        self._failures: list[int] = []
        self._ids = itertools.count(1)

    # ---- lifecycle (HttpStandin; the base URL is RITM_SMS__API_URL) -----------------------------
    def routes(self, app: web.Application) -> None:
        for path, handler in (
            ("/sms/send", self._send),
            ("/sms/status", self._status),
            ("/my/balance", self._balance),
        ):
            app.router.add_route("*", path, handler)
        app.router.add_get("/_standin/sent", self._control_sent)
        app.router.add_post("/_standin/{action}", self._control)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = await super().start(host, port)
        log.info("sms.ru stand-in listening", extra={"event": "smsru_standin_start", "url": url})
        return url

    # ---- test API --------------------------------------------------------------------------------
    def fail_next(self, code: int, times: int = 1) -> None:
        """Refuse the next `times` sends with `code` (201, 220, … at the top level; 202 per number)."""
        self._failures.extend([code] * times)

    def to(self, phone: str) -> list[SentSms]:
        digits = phone.lstrip("+")
        return [s for s in self.sent if s.to == digits]

    async def report(
        self, sms_id: str, code: int, *, at: int | None = None, api_id: str | None = None
    ) -> str:
        """Post a delivery report to the callback URL, signed with `api_id` (default: the account's);
        returns the receiver's answer as `"<http status> <body>"`."""
        for sms in self.sent:
            if sms.sms_id == sms_id:
                sms.status_code = code
        if self.callback_url is None:
            raise RuntimeError("no callback URL: set SmsRuStandin.callback_url")
        line = wire.status_line(wire.StatusItem(sms_id, code, at if at is not None else int(time.time())))
        form = {"data[0]": line, "hash": wire.callback_hash(api_id or self.api_id, [line])}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.callback_url, data=form) as response,
        ):
            return f"{response.status} {await response.text()}"

    # ---- the API ---------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, str]:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    def _refusal(self, code: int) -> dict[str, Any]:
        return {"status": "ERROR", "status_code": code, "status_text": wire.STATUS_TEXT.get(code, "")}

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        params = await self._params(request)
        if params.get("api_id") != self.api_id:
            return _json(self._refusal(wire.BAD_API_ID))
        text = params.get("msg", "")
        if not text.strip():
            return _json(self._refusal(wire.NO_TEXT))
        forced = self._failures.pop(0) if self._failures else None
        if forced is not None and forced != wire.BAD_NUMBER:
            return _json(self._refusal(forced))
        numbers = [n.strip() for n in params.get("to", "").split(",") if n.strip()]
        if not numbers or len(numbers) > MAX_NUMBERS:
            return _json(self._refusal(wire.BAD_NUMBER))
        parts = sms_parts(text).parts
        cost = round(parts * self.price_per_part, 2)
        if self.balance < cost * len(numbers):
            return _json(self._refusal(wire.LOW_BALANCE))
        answers: dict[str, Any] = {}
        for number in numbers:
            bad = not (number.isdigit() and 11 <= len(number) <= 15) or number in self.unroutable
            if bad or forced == wire.BAD_NUMBER:
                answers[number] = self._refusal(wire.BAD_NUMBER)
                continue
            sms_id = f"{next(self._ids):06d}-{int(time.time()) % 10**8:08d}"
            self.balance = round(self.balance - cost, 2)
            self.sent.append(SentSms(sms_id, number, text, params.get("from", ""), parts, cost))
            answers[number] = {"status": "OK", "status_code": wire.OK, "sms_id": sms_id}
        return _json({"status": "OK", "status_code": wire.OK, "sms": answers, "balance": self.balance})

    async def _status(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if params.get("api_id") != self.api_id:
            return _json(self._refusal(wire.BAD_API_ID))
        by_id = {s.sms_id: s for s in self.sent}
        answers: dict[str, Any] = {}
        for sms_id in (i.strip() for i in params.get("sms_id", "").split(",") if i.strip()):
            sms = by_id.get(sms_id)
            if sms is None:
                answers[sms_id] = {
                    "status": "ERROR",
                    "status_code": -1,
                    "status_text": "Сообщение не найдено",
                }
            else:
                answers[sms_id] = {
                    "status": "OK",
                    "status_code": sms.status_code,
                    "status_text": wire.STATUS_TEXT.get(sms.status_code, ""),
                    "cost": sms.cost,
                    "sms": sms.parts,
                }
        return _json({"status": "OK", "status_code": wire.OK, "sms": answers, "balance": self.balance})

    async def _balance(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if params.get("api_id") != self.api_id:
            return _json(self._refusal(wire.BAD_API_ID))
        return _json({"status": "OK", "status_code": wire.OK, "balance": self.balance})

    # ---- control over HTTP -----------------------------------------------------------------------
    async def _control_sent(self, request: web.Request) -> web.Response:
        return _json([asdict(s) for s in self.sent])

    async def _control(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _json({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return _json({"error": "the body must be a JSON object"}, status=400)
        action = request.match_info["action"]
        try:
            if action == "fail":
                self.fail_next(_integer(body, "code"), _integer(body, "times", 1))
            elif action == "balance":
                self.balance = float(body["balance"])
            elif action == "unroutable":
                self.unroutable.add(str(body["phone"]).lstrip("+"))
            elif action == "callback":
                self.callback_url = str(body["url"])
            elif action == "report":
                answer = await self.report(str(body["sms_id"]), _integer(body, "code"))
                return _json({"ok": True, "answer": answer})
            else:
                return _json({"error": f"no control action {action!r}"}, status=404)
        except (TimeoutError, KeyError, TypeError, ValueError, RuntimeError, aiohttp.ClientError) as exc:
            return _json({"error": f"bad {action} request: {exc}"}, status=400)
        return _json({"ok": True})


def _integer(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json"
    )
