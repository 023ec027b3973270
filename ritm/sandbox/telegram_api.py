"""A local Telegram Bot API server for tests and `ritm demo`: the real wire format over real HTTP.

Point aiogram at it with `TelegramAPIServer.from_base(await standin.start())`. It answers the methods the
product uses, enforces Telegram's send limits with real 429s, and offers a test API (Python methods here,
HTTP under `/_standin/…`) to act as users and to read back what the bot sent.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from ritm.sandbox.http_standin import HttpStandin
from ritm.sandbox.telegram_control import add_control_routes
from ritm.sandbox.telegram_limits import Clock, FloodControl, StandinLimits
from ritm.sandbox.telegram_methods import BotApi
from ritm.sandbox.telegram_params import ApiError, Json, Params, Upload
from ritm.sandbox.telegram_records import CallbackQuery, SentMessage
from ritm.sandbox.telegram_state import TelegramWorld, command_entities

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAStandinTokenForLocalUseOnly-0000000"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's own limit for bot uploads


class TelegramStandin(HttpStandin):
    """The Bot API stand-in: start it, give its URL to aiogram, drive it as users, read what was sent."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        tokens: Iterable[str] | None = None,
        limits: StandinLimits | None = None,
        known_chats: Iterable[int] | None = None,
        clock: Clock = time.monotonic,
        bot_username: str = "ritm_standin_bot",
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        self.tokens = set(tokens) if tokens is not None else {token}
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.world = TelegramWorld(
            bot_id,
            bot_username=bot_username,
            known_chats=set(known_chats) if known_chats is not None else None,
        )
        self.flood = FloodControl(limits, clock)
        self.api = BotApi(self.world, self.flood)
        self.requests: Counter[str] = Counter()  # method name -> calls, refusals included
        self._failures: list[ApiError] = []  # answers forced on the next sending calls (fail_next)
        self.outage: ApiError | None = None  # while set, every Bot API call gets it (start_outage)

    # ---- lifecycle (HttpStandin; the base URL is for `TelegramAPIServer.from_base`) -------------
    client_max_size = MAX_UPLOAD_BYTES

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        add_control_routes(app, self)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = await super().start(host, port)
        self.api.closing = False
        log.info("telegram stand-in listening", extra={"event": "standin_start", "url": url})
        return url

    async def stop(self) -> None:
        """End pending long polls at once, then close the server."""
        self.api.closing = True
        self.world.changed.notify()
        await super().stop()

    @property
    def base_url(self) -> str:
        if not self.url:
            raise RuntimeError("the stand-in is not started")
        return self.url

    def api_server(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.base_url)

    def bot(self, token: str | None = None, *, parse_mode: str | None = "HTML") -> Bot:
        """An aiogram Bot talking to this stand-in over HTTP (the caller closes its session)."""
        session = AiohttpSession(api=self.api_server())
        return Bot(token or self.token, session=session, default=DefaultBotProperties(parse_mode=parse_mode))

    # ---- the wire --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] not in self.tokens:
            return web.json_response(ApiError(401, "Unauthorized").json(), status=401)
        self.requests[method] += 1
        self.world.changed.notify()  # tests may wait for "the bot has called X"
        if self.outage is not None:
            return web.json_response(self.outage.json(), status=self.outage.code)
        try:
            if self._failures and method.lower().startswith("send"):
                raise self._failures.pop(0)
            params = Params(await self._read_params(request))
            result = await self.api.call(method, params)
        except ApiError as exc:
            return web.json_response(exc.json(), status=exc.code)
        except Exception:  # a stand-in bug still answers in Telegram's shape, so clients see a 5xx
            log.exception("stand-in method failed", extra={"event": "standin_error", "method": method})
            return web.json_response(ApiError(500, "Internal Server Error").json(), status=500)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        """What `bot.download(file)` fetches after getFile: the upload's bytes."""
        if request.match_info["token"] not in self.tokens:
            return web.json_response(ApiError(401, "Unauthorized").json(), status=401)
        stored = self.world.files.get(request.match_info["path"].rsplit("/", 1)[-1])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").json(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        values: dict[str, Any] = dict(request.query)
        if not request.can_read_body:
            return values
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: the request body must be a JSON object")
            values.update(body)
            return values
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                values[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                values[key] = value
        return values

    # ---- test API: acting as users ---------------------------------------------------------------
    def user_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        language_code: str | None = "ru",
        first_name: str | None = None,
        username: str | None = None,
    ) -> Json:
        """Queue a text message from `user_id` (in its private chat unless `chat_id` names a group)."""
        body: Json = {"text": text}
        if entities := command_entities(text):
            body["entities"] = entities
        fields = {"language_code": language_code, "first_name": first_name, "username": username}
        return self.world.user_message(user_id, chat_id or user_id, body, fields)

    def start_command(self, user_id: int, payload: str | None = None, **user_fields: Any) -> Json:
        """Queue `/start <payload>`, what Telegram sends when a user opens a t.me/bot?start=payload link."""
        return self.user_message(user_id, f"/start {payload}" if payload else "/start", **user_fields)

    def user_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        language_code: str | None = "ru",
    ) -> Json:
        """Queue a document upload from `user_id` (e.g. a CSV sent to the team bot)."""
        stored = self.world.store_file(data, filename, mime_type)
        body: Json = {"document": stored.document_json()}
        if caption:
            body["caption"] = caption
        fields = {"language_code": language_code, "first_name": None, "username": None}
        return self.world.user_message(user_id, user_id, body, fields)

    def press_button(
        self,
        user_id: int,
        message: SentMessage,
        *,
        data: str | None = None,
        text: str | None = None,
        forged: bool = False,
    ) -> str:
        """Queue a callback_query for a button of `message` (by callback data or label); return its id.

        `forged=True` sends `data` even though no button carries it, as a modified client can.
        """
        for button in message.buttons():
            if "callback_data" in button and (button["callback_data"] == data or button["text"] == text):
                break
        else:
            if not (forged and data is not None):
                raise ValueError(f"message {message.message_id} has no callback button {data or text!r}")
            button = {"callback_data": data}
        query_id = f"{message.chat_id}{len(self.world.callbacks) + 1:08d}"
        self.world.callbacks[query_id] = CallbackQuery(
            query_id, user_id, message.chat_id, message.message_id, button["callback_data"]
        )
        payload = {
            "id": query_id,
            "from": self.world.user(user_id),
            "message": self.world.message_json(message),
            "chat_instance": str(abs(message.chat_id) * 2654435761 % 2**63),  # stable per chat, opaque
            "data": button["callback_data"],
        }
        self.world.push_update("callback_query", payload)
        return query_id

    # ---- test API: reading back and steering -----------------------------------------------------
    def sent(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to one chat, in order (deleted messages included, marked)."""
        return list(self.world.sent.get(chat_id, []))

    def all_sent(self) -> list[SentMessage]:
        return list(self.world.sent_order)

    async def wait_for_sent(self, chat_id: int, count: int = 1, timeout_s: float = 5.0) -> list[SentMessage]:
        """Wait (event-driven, no polling) until the bot has sent `count` messages to `chat_id`."""
        await self.world.changed.wait_for(lambda: len(self.world.sent.get(chat_id, [])) >= count, timeout_s)
        return self.sent(chat_id)

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Wait until `condition()` holds, re-checked on every request, update, send, edit or answer."""
        await self.world.changed.wait_for(condition, timeout_s)

    async def wait_until_consumed(self, timeout_s: float = 5.0) -> None:
        """Wait until the bot has confirmed every queued update (its next getUpdates moved the offset)."""
        await self.world.changed.wait_for(lambda: not self.world.updates, timeout_s)

    def callback_answer(self, query_id: str) -> Json | None:
        """How the bot answered a button press (None while unanswered)."""
        query = self.world.callbacks.get(query_id)
        return None if query is None else query.answer

    def commands(self, scope: Json | None = None, language_code: str = "") -> list[Json]:
        """The commands set for a scope (default scope when None) and language, as getMyCommands returns."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return list(self.world.commands.get((key, language_code), []))

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (a getUpdates with a higher offset confirms them)."""
        return len(self.world.updates)

    def block(self, chat_id: int) -> None:
        self.world.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.world.blocked.discard(chat_id)

    def mark_missing(self, chat_id: int) -> None:
        """From now on the chat does not exist ("chat not found")."""
        self.world.missing.add(chat_id)

    def add_chat(self, chat_id: int, *, chat_type: str | None = None, title: str | None = None) -> None:
        self.world.add_chat(chat_id, chat_type=chat_type, title=title)

    def fail_next(self, count: int = 1, code: int = 500, description: str = "Internal Server Error") -> None:
        """Answer the next `count` send* calls with this error (Telegram has bad minutes too)."""
        self._failures.extend(ApiError(code, description) for _ in range(count))

    def start_outage(self, code: int = 502, description: str = "Bad Gateway") -> None:
        """Answer every Bot API call (getUpdates too) with this error until `end_outage`."""
        self.outage = ApiError(code, description)
        self.world.changed.notify()

    def end_outage(self) -> None:
        self.outage = None
        self.world.changed.notify()

    def set_limits(self, limits: StandinLimits | None = None, **changes: float | bool) -> StandinLimits:
        return self.flood.set_limits(limits, **changes)

    @property
    def count_429(self) -> int:
        return self.flood.count_429
