"""The Bot API methods the product uses, dispatched by name; the bot, update and command methods live here.

Handler names are the Bot API's own camelCase method names, so a method is found by reading the docs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ritm.sandbox.telegram_limits import FloodControl
from ritm.sandbox.telegram_messages import MessageMethods
from ritm.sandbox.telegram_params import ApiError, Json, Params, bad_request
from ritm.sandbox.telegram_state import TelegramWorld

Handler = Callable[[Params], Awaitable[Any]]


class BotApi(MessageMethods):
    """Dispatches `method(params)` for one stand-in bot; the HTTP layer only decodes and encodes."""

    def __init__(self, world: TelegramWorld, flood: FloodControl) -> None:
        self.world = world
        self.flood = flood
        self.allowed_updates: set[str] | None = None
        self.closing = False
        self._poll_generation = 0
        self.handlers: dict[str, Handler] = {
            name.lower(): getattr(self, name)
            for name in (
                "getMe",
                "getUpdates",
                "deleteWebhook",
                "setWebhook",
                "getWebhookInfo",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "answerCallbackQuery",
                "sendDocument",
                "sendPhoto",
                "deleteMessage",
                "getChat",
                "getFile",
                "close",
                "logOut",
            )
        }

    async def call(self, method: str, params: Params) -> Any:
        handler = self.handlers.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        return await handler(params)

    # ---- bot and updates -------------------------------------------------------------------------
    async def getMe(self, params: Params) -> Json:
        return dict(self.world.bot_user)

    async def close(self, params: Params) -> bool:
        return True

    async def getFile(self, params: Params) -> Json:
        """A stored upload's path; the bytes are served at `/file/bot<token>/<file_path>`."""
        file_id = params.text("file_id", required=True) or ""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": f"documents/{stored.file_id}",
        }

    async def logOut(self, params: Params) -> bool:
        return True

    async def getUpdates(self, params: Params) -> list[Json]:
        world = self.world
        if world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout_s = max(params.integer("timeout") or 0, 0)
        if "allowed_updates" in params:
            allowed = params.obj("allowed_updates") or []
            self.allowed_updates = set(allowed) or None  # an empty list restores "all"
        if offset > 0:
            world.updates = [u for u in world.updates if u["update_id"] >= offset]
        elif offset < 0:
            world.updates = world.updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        world.changed.notify()  # an older long poll ends with 409, as on Telegram
        while True:
            ready = [u for u in world.updates if self._allowed(u)][:limit]
            if ready or self.closing:
                return ready
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if remaining <= 0 or not await world.changed.wait(remaining):
                return []

    def _allowed(self, update: Json) -> bool:
        return self.allowed_updates is None or any(kind in update for kind in self.allowed_updates)

    async def deleteWebhook(self, params: Params) -> bool:
        self.world.webhook_url = ""
        if params.flag("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def setWebhook(self, params: Params) -> bool:
        self.world.webhook_url = params.text("url") or ""
        return True

    async def getWebhookInfo(self, params: Params) -> Json:
        return {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }

    # ---- commands --------------------------------------------------------------------------------
    def _scope_key(self, params: Params) -> tuple[str, str]:
        scope = params.obj("scope", "BotCommandScope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.text("language_code") or ""

    async def setMyCommands(self, params: Params) -> bool:
        commands = params.obj("commands", "BotCommand array")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an Array of BotCommand")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            valid = 1 <= len(name) <= 32 and all(ch.islower() or ch.isdigit() or ch == "_" for ch in name)
            if not valid or not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_INVALID")
        self.world.commands[self._scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def getMyCommands(self, params: Params) -> list[Json]:
        return list(self.world.commands.get(self._scope_key(params), []))

    async def deleteMyCommands(self, params: Params) -> bool:
        self.world.commands.pop(self._scope_key(params), None)
        return True
