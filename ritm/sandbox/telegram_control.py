"""The stand-in's HTTP control API under `/_standin/…`, so another process can drive it like a test does.

POST /_standin/updates/message   {"user_id", "text", "chat_id"?, "language_code"?, "first_name"?, "username"?}
POST /_standin/updates/start     {"user_id", "payload"?, "language_code"?}
POST /_standin/updates/document  {"user_id", "filename", "data_base64", "mime_type"?, "caption"?}
POST /_standin/updates/callback  {"user_id", "chat_id", "message_id", "data"?|"text"?} -> query id
GET  /_standin/chats/{chat_id}/messages                    what the bot sent there, in order
POST /_standin/chats/{chat_id}/block | unblock | missing | add
POST /_standin/limits            any of {"per_bot_per_s", "per_chat_per_s", "per_group_per_min", "burst_s",
                                 "enabled"}
POST /_standin/outage            {"code": 5xx, "description"?}: every Bot API call fails so, until
                                 {"code": null}
GET  /_standin/stats             {"count_429", "sent", "pending_updates", "requests"}
GET  /_standin/callbacks/{id}    the bot's answer to a button press (null while unanswered)

Bad input gets a 400 with one sentence in {"error": …}; nothing already stored changes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ritm.sandbox.telegram_limits import StandinLimits

if TYPE_CHECKING:
    from ritm.sandbox.telegram_api import TelegramStandin

Route = Callable[[web.Request], Awaitable[web.Response]]
_LIMIT_FIELDS = {f.name for f in fields(StandinLimits)}


class _BadInput(ValueError):
    pass


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise _BadInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadInput("the body must be a JSON object")
    return body


def _int(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _BadInput(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise _BadInput(f"{name} must be an integer") from None


def _guarded(handler: Route) -> Route:
    async def run(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except ValueError as exc:  # _BadInput, and press_button naming a missing button
            return web.json_response({"error": str(exc)}, status=400)

    return run


def add_control_routes(app: web.Application, standin: TelegramStandin) -> None:
    """Mount the control API of `standin` on `app`."""

    async def message(request: web.Request) -> web.Response:
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            raise _BadInput("text must be a non-empty string")
        update = standin.user_message(
            _int(body, "user_id") or 0,
            text,
            chat_id=_int(body, "chat_id", required=False),
            language_code=body.get("language_code", "ru"),
            first_name=body.get("first_name"),
            username=body.get("username"),
        )
        return web.json_response(update)

    async def start(request: web.Request) -> web.Response:
        body = await _body(request)
        update = standin.start_command(
            _int(body, "user_id") or 0, body.get("payload"), language_code=body.get("language_code", "ru")
        )
        return web.json_response(update)

    async def document(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            data = base64.b64decode(str(body.get("data_base64", "")), validate=True)
        except binascii.Error:
            raise _BadInput("data_base64 is not base64") from None
        update = standin.user_document(
            _int(body, "user_id") or 0,
            str(body.get("filename") or "file"),
            data,
            mime_type=str(body.get("mime_type") or "application/octet-stream"),
            caption=body.get("caption"),
        )
        return web.json_response(update)

    async def callback(request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id, message_id = _int(body, "chat_id") or 0, _int(body, "message_id") or 0
        target = standin.world.find_sent(chat_id, message_id)
        if target is None:
            raise _BadInput(f"the bot sent no message {message_id} to chat {chat_id}")
        query_id = standin.press_button(
            _int(body, "user_id") or 0, target, data=body.get("data"), text=body.get("text")
        )
        return web.json_response({"callback_query_id": query_id})

    async def chat_messages(request: web.Request) -> web.Response:
        chat_id = _int(dict(request.match_info), "chat_id") or 0
        return web.json_response([m.summary() for m in standin.sent(chat_id)])

    async def chat_action(request: web.Request) -> web.Response:
        chat_id = _int(dict(request.match_info), "chat_id") or 0
        actions = {
            "block": standin.block,
            "unblock": standin.unblock,
            "missing": standin.mark_missing,
            "add": standin.add_chat,
        }
        action = actions.get(request.match_info["action"])
        if action is None:
            raise _BadInput(f"unknown action {request.match_info['action']!r}; use one of {sorted(actions)}")
        action(chat_id)
        return web.json_response({"ok": True})

    async def limits(request: web.Request) -> web.Response:
        body = await _body(request)
        unknown = set(body) - _LIMIT_FIELDS
        if unknown:
            raise _BadInput(f"unknown limit {sorted(unknown)[0]!r}; known: {sorted(_LIMIT_FIELDS)}")
        for name, value in body.items():
            if name != "enabled" and (
                not isinstance(value, int | float) or isinstance(value, bool) or value <= 0
            ):
                raise _BadInput(f"{name} must be a positive number")
        current = standin.set_limits(**body)
        return web.json_response({f.name: getattr(current, f.name) for f in fields(current)})

    async def outage(request: web.Request) -> web.Response:
        body = await _body(request)
        code = _int(body, "code", required=False)
        if code is None:
            standin.end_outage()
            return web.json_response({"outage": None})
        if not 500 <= code <= 599:
            raise _BadInput("code must be a 5xx status, or null to end the outage")
        description = body.get("description", "Bad Gateway")
        if not isinstance(description, str) or not description:
            raise _BadInput("description must be a non-empty string")
        standin.start_outage(code, description)
        return web.json_response({"outage": {"code": code, "description": description}})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "count_429": standin.count_429,
                "sent": len(standin.all_sent()),
                "pending_updates": standin.pending_updates(),
                "requests": dict(standin.requests),
            }
        )

    async def callback_answer(request: web.Request) -> web.Response:
        return web.json_response(standin.callback_answer(request.match_info["query_id"]))

    app.router.add_post("/_standin/updates/message", _guarded(message))
    app.router.add_post("/_standin/updates/start", _guarded(start))
    app.router.add_post("/_standin/updates/document", _guarded(document))
    app.router.add_post("/_standin/updates/callback", _guarded(callback))
    app.router.add_get("/_standin/chats/{chat_id}/messages", _guarded(chat_messages))
    app.router.add_post("/_standin/chats/{chat_id}/{action}", _guarded(chat_action))
    app.router.add_post("/_standin/limits", _guarded(limits))
    app.router.add_post("/_standin/outage", _guarded(outage))
    app.router.add_get("/_standin/stats", _guarded(stats))
    app.router.add_get("/_standin/callbacks/{query_id}", _guarded(callback_answer))
