"""Tracking, unsubscribe and webhook endpoints (aiohttp), SPEC §7.

Every link we hand out carries an HMAC-signed token; a forged or altered token gets 404 and changes
nothing. GET never unsubscribes (mail scanners prefetch links): it shows a confirmation page whose
button POSTs; a POST unsubscribes at once, which is also RFC 8058 one-click.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass

from aiohttp import web

from dispatcher.calendar import event_ics, event_uid
from dispatcher.campaign_cache import CampaignCache
from dispatcher.clock import Clock
from dispatcher.feedback import apply_feedback
from dispatcher.hooks import HookError, apply_hook, verify_hook_signature
from dispatcher.links import LinkSigner
from policy.config import Policy
from storage.contacts import known_contacts
from storage.db import Database
from storage.history import outbox_row
from storage.retry import StillLocked, retry_while_locked
from storage.tracking import record_event, revoke_consent

log = logging.getLogger(__name__)

PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
DELIVERY_ID = re.compile(r"[!-~]{1,200}")


@dataclass
class HttpDeps:
    db: Database
    policy: Policy
    campaigns: CampaignCache
    signer: LinkSigner
    clock: Clock
    mail_domain: str = "school.example"
    hook_tolerance_s: int = 300
    return_path: str | None = None  # the VERP base that names outbox rows in bounces


DEPS = web.AppKey("deps", HttpDeps)


def create_http_app(deps: HttpDeps) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[DEPS] = deps
    app.router.add_get("/u/{token}", unsubscribe_page)
    app.router.add_post("/u/{token}", unsubscribe)
    app.router.add_get("/o/{token}", open_pixel)
    app.router.add_get("/c/{token}", click)
    app.router.add_get("/e/{token}", ics)
    app.router.add_post("/hooks/events", hook)
    app.router.add_post("/hooks/bounces", bounce_hook)
    app.router.add_get("/healthz", health)
    return app


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        "<!doctype html><html lang=ru><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status, headers=NO_STORE)


def _not_found() -> web.Response:
    return web.Response(status=404, text="not found", headers=NO_STORE)


async def unsubscribe_page(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    parts = deps.signer.unsubscribe_parts(request.match_info["token"])
    if parts is None:
        return _not_found()
    channel = "email" if parts.channel == "email" else "Telegram"
    return _page(
        "Отписаться от рассылки?",
        f"<p>Вы больше не будете получать наши письма на канале {html.escape(channel)}."
        " Служебные сообщения о ваших заказах и доступах продолжат приходить.</p>"
        "<form method=post><button type=submit>Отписаться</button></form>",
    )


async def unsubscribe(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    parts = deps.signer.unsubscribe_parts(request.match_info["token"])
    if parts is None:
        return _not_found()
    now = deps.clock()

    async def revoke() -> bool:
        async with deps.db.transaction() as conn:
            if not await known_contacts(conn, [parts.contact_id]):
                return False
            changed = await revoke_consent(conn, parts.contact_id, parts.channel, "unsubscribe_link", now)
            if changed:
                await record_event(
                    conn,
                    parts.contact_id,
                    "unsubscribe",
                    now,
                    parts.campaign_id or None,
                    {"channel": parts.channel},
                )
            return True

    # An unsubscribe is a legal obligation: it waits out another process's write lock, never drops.
    try:
        known = await retry_while_locked(revoke, what="unsubscribe")
    except StillLocked:
        log.error(
            "unsubscribe not committed", extra={"event": "unsubscribe_busy", "contact_id": parts.contact_id}
        )
        return _page(
            "Не получилось",
            "<p>Сервер занят: пожалуйста, нажмите «Отписаться» ещё раз через минуту.</p>",
            status=503,
        )
    if not known:
        return _page(
            "Адреса нет в базе", "<p>Этого адреса уже нет в нашей базе: рассылок не будет.</p>", status=410
        )
    log.info("unsubscribed", extra={"event": "unsubscribe", "contact_id": parts.contact_id})
    return _page("Вы отписаны", "<p>Готово: больше никаких рассылок на этом канале.</p>")


async def open_pixel(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    token = request.match_info["token"].removesuffix(".gif")
    outbox_id = deps.signer.open_parts(token)
    if outbox_id is None:
        return _not_found()
    row = await outbox_row(deps.db, outbox_id)
    if row is not None:
        async with deps.db.transaction() as conn:
            if await known_contacts(conn, [row.contact_id]):  # a deleted contact's opens count nowhere
                await record_event(
                    conn, row.contact_id, "open", deps.clock(), row.campaign_id, {"outbox_id": row.id}
                )
    return web.Response(body=PIXEL, content_type="image/gif", headers=NO_STORE)


async def click(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    found = deps.signer.click_parts(request.match_info["token"])
    if found is None:
        return _not_found()
    outbox_id, link = found
    row = await outbox_row(deps.db, outbox_id)
    if row is None:
        return _not_found()
    loaded = await deps.campaigns.get(row.campaign_id)
    target = None if loaded is None else deps.signer.link_target(loaded.campaign, link)
    if target is None:  # only the campaign's registered links: never an open redirect
        return _not_found()
    async with deps.db.transaction() as conn:
        if await known_contacts(conn, [row.contact_id]):
            await record_event(
                conn,
                row.contact_id,
                "click",
                deps.clock(),
                row.campaign_id,
                {"outbox_id": row.id, "link": link},
            )
    raise web.HTTPFound(target, headers=NO_STORE)


async def ics(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    token = request.match_info["token"]
    if not token.endswith(".ics"):
        return _not_found()
    found = deps.signer.ics_parts(token.removesuffix(".ics"))
    if found is None:
        return _not_found()
    campaign_id, contact_id = found
    loaded = await deps.campaigns.get(campaign_id)
    if loaded is None or loaded.campaign.event is None:
        return _not_found()
    event = loaded.campaign.event
    body = event_ics(
        uid=event_uid(campaign_id, contact_id, deps.mail_domain),
        title=event.title,
        starts_at=event.starts_at,
        duration=event.duration,
        url=event.url,
    )
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.ics"'},
    )


async def hook(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    body = await request.read()
    keys = _signed_delivery(request, deps, body)
    if isinstance(keys, web.Response):
        return keys
    try:
        summary = await apply_hook(deps.db, body, deps.policy, now=deps.clock(), delivery=keys)
    except HookError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=400)
    return web.json_response({"ok": True, **summary})


async def bounce_hook(request: web.Request) -> web.Response:
    """`POST /hooks/bounces`: one DSN, ARF report or unsubscribe mail as the raw body (message/rfc822),
    signed like `/hooks/events`. An unusable one is kept aside and answered 422 with the reason."""
    deps = request.app[DEPS]
    body = await request.read()
    keys = _signed_delivery(request, deps, body)
    if isinstance(keys, web.Response):
        return keys
    applied = await apply_feedback(
        deps.db, body, source="hook", now=deps.clock(), return_path=deps.return_path, delivery=keys
    )
    if applied.kind == "duplicate":
        return web.json_response({"ok": True, "duplicate": True})
    if applied.kind == "unparsable":
        return web.json_response({"ok": False, "error": applied.detail, "kept_aside": True}, status=422)
    return web.json_response(
        {
            "ok": True,
            "kind": applied.kind,
            "new": applied.new,
            "outbox_id": applied.outbox_id,
            "contact_id": applied.contact_id,
            "suppressed": applied.suppressed,
        }
    )


def _signed_delivery(request: web.Request, deps: HttpDeps, body: bytes) -> tuple[str, ...] | web.Response:
    """The keys of a signed webhook delivery (its id, its signature), or the 4xx answer."""
    signature = request.headers.get("X-Ritm-Signature", "")
    if not verify_hook_signature(
        deps.signer.secrets,
        body,
        request.headers.get("X-Ritm-Timestamp", ""),
        signature,
        now=deps.clock(),
        tolerance_s=deps.hook_tolerance_s,
    ):
        return web.json_response({"ok": False, "error": "bad signature"}, status=401)
    delivery = request.headers.get("X-Ritm-Delivery", "").strip()
    if not DELIVERY_ID.fullmatch(delivery):
        return web.json_response(
            {"ok": False, "error": "X-Ritm-Delivery must carry the delivery's id (1-200 printable ASCII)"},
            status=400,
        )
    # The signature is a key too: a captured request replayed under a new delivery id is still a repeat.
    return (f"id:{delivery}", f"sig:{signature}")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})
