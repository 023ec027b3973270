"""`POST /hooks/vk`: the VK community's Callback API (consent from `message_allow` / `message_deny`).

VK posts one JSON event per request and retries until it gets the body `ok`, so every event we do not
act on is still answered `ok`. `confirmation` (when the server is added in the community's settings)
is answered with the configured confirmation string. Every other event must carry the configured
secret key: a wrong or missing one gets 403 and changes nothing, as does an event for another
community. Repeats are harmless: a consent already in the reported state is left as it is.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dispatcher.clock import Clock
from storage.db import Database
from storage.retry import StillLocked, retry_while_locked
from storage.vk_consents import set_vk_consent

log = logging.getLogger(__name__)

CONSENT_EVENTS = {"message_allow": True, "message_deny": False}


@dataclass(frozen=True)
class VkCallbackConfig:
    db: Database
    clock: Clock
    secret: str | None  # RITM_VK__SECRET
    confirmation: str | None  # RITM_VK__CONFIRMATION
    group_id: int | None  # [channels.vk] group_id of the policy


VK_CALLBACK = web.AppKey("vk_callback", VkCallbackConfig)


def mount_vk_callback(app: web.Application, config: VkCallbackConfig) -> None:
    app[VK_CALLBACK] = config
    app.router.add_post("/hooks/vk", vk_callback)


def _refuse(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n")


async def vk_callback(request: web.Request) -> web.Response:
    config = request.app[VK_CALLBACK]
    try:
        event: Any = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "The body is not JSON: VK's Callback API posts one JSON event.")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return _refuse(400, "The event is not a JSON object with a type, as VK's Callback API sends.")
    group = event.get("group_id")
    if config.group_id is not None and group != config.group_id:
        return _refuse(403, "The event is for another community than [channels.vk] group_id.")
    kind = event["type"]
    if kind == "confirmation":
        if not config.confirmation:
            return _refuse(404, "No confirmation string is configured: set RITM_VK__CONFIRMATION.")
        return web.Response(text=config.confirmation)
    secret = event.get("secret")
    if not config.secret or not isinstance(secret, str) or not hmac.compare_digest(secret, config.secret):
        log.warning("vk callback refused", extra={"event": "vk_callback_forbidden", "type": kind[:40]})
        return _refuse(403, "Wrong or missing secret key.")
    allowed = CONSENT_EVENTS.get(kind)
    if allowed is None:
        return web.Response(text="ok")  # an event we do not act on: VK would resend it otherwise
    body = event.get("object")
    user_id = body.get("user_id") if isinstance(body, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        return _refuse(400, f"A {kind} event needs object.user_id, a positive integer.")
    now = config.clock()
    try:
        changed = await retry_while_locked(
            lambda: set_vk_consent(config.db, user_id, allowed, now), what="vk consent"
        )
    except StillLocked:
        # Not "ok": VK sends the event again later, so the subscriber's word is not lost.
        log.error("vk consent not committed", extra={"event": "vk_consent_busy", "vk_id": user_id})
        return _refuse(503, "The database is busy: the event will be taken when VK sends it again.")
    log.info(
        "vk consent",
        extra={"event": "vk_consent", "vk_id": user_id, "allowed": allowed, "contacts": changed},
    )
    return web.Response(text="ok")
