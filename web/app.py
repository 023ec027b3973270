"""The dashboard's aiohttp application (mounted at /app/ by `ritm run`): sign-in, the session gate, pages.

Every page but the sign-in ones needs a live session of a current team member: without a session it
302s to the "sign in from the bot" page; a session or link of someone no longer in the team gets a
403 page (and the session ends). Roles are the bot's: viewers read everything, approvers also decide.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from storage.team import get_member
from storage.web_auth import close_session, open_session, session_user, use_login
from web import views
from web.deps import VISITOR, WEB, Visitor, WebDeps
from web.pages import NO_STORE, message_page, render
from web.signin import COOKIE, SESSION_TTL, form_token, new_session_id

log = logging.getLogger(__name__)

OPEN_PATHS = ("/app/signin", "/app/login/", "/app/favicon.ico")


def mount_dashboard(http: web.Application, deps: WebDeps) -> None:
    """Serve the dashboard under /app/ of the process's HTTP application (and /app itself redirects)."""

    async def to_root(request: web.Request) -> web.Response:
        raise web.HTTPFound("/app/", headers=NO_STORE)

    http.router.add_get("/app", to_root)
    http.add_subapp("/app/", create_dashboard(deps))


def create_dashboard(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[session_gate])
    app[WEB] = deps
    app.router.add_get("/signin", signin_page)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login/{token}", login)
    app.router.add_post("/signout", signout)
    app.router.add_get("/", views.calendar, name="calendar")
    app.router.add_get("/campaigns", views.campaigns)
    app.router.add_get("/campaigns/{id}", views.campaign)
    app.router.add_post("/campaigns/{id}/decision", views.decision)
    app.router.add_get("/contacts", views.find_contact)
    app.router.add_get("/contacts/{id}", views.contact, name="contact")
    app.router.add_get("/queue", views.queue)
    app.router.add_get("/audit", views.audit_log)
    return app


@web.middleware
async def session_gate(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(OPEN_PATHS):
        return await handler(request)
    deps = request.app[WEB]
    session_id = request.cookies.get(COOKIE, "")
    now = deps.clock()
    user_id = await session_user(deps.db, session_id, now) if session_id else None
    if user_id is None:
        raise web.HTTPFound("/app/signin", headers=NO_STORE)
    member = await get_member(deps.db, user_id)
    if member is None:  # removed from the team since signing in
        await close_session(deps.db, session_id, now)
        return _refused()
    form = form_token(deps.signer.secret, session_id)
    VISITOR.set(Visitor(member, form))
    if request.method == "POST":
        posted = await request.post()
        if not hmac.compare_digest(str(posted.get("form", "")), form):
            return message_page(
                request, "Form expired", "This form is out of date: reload the page and try again.", 400
            )
    return await handler(request)


def _refused() -> web.Response:
    return message_page(
        None,
        "Not for you",
        "This dashboard is for the school's team only, and your Telegram account is not in it."
        " Ask an admin to add you (ritm team add), then send /web to the bot again.",
        403,
    )


async def signin_page(request: web.Request) -> web.Response:
    return message_page(
        None,
        "Sign in from the bot",
        "The dashboard opens with a one-time link: send /web to the school's bot in Telegram and follow"
        " the link it answers with (it works once, for 10 minutes).",
    )


def _link_gone() -> web.Response:
    return message_page(
        None,
        "This link no longer works",
        "Sign-in links work once and for 10 minutes: send /web to the bot for a new one.",
        403,
    )


async def login_page(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    if deps.signer.web_login_nonce(request.match_info["token"], deps.clock()) is None:
        return _link_gone()
    # GET spends nothing: link previews and scanners fetch it too.
    return render(request, "login.html", {"title": "Sign in to Ritm"})


async def login(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    now = deps.clock()
    nonce = deps.signer.web_login_nonce(request.match_info["token"], now)
    user_id = None if nonce is None else await use_login(deps.db, nonce, now)
    if user_id is None:
        return _link_gone()
    if await get_member(deps.db, user_id) is None:
        log.warning("sign-in refused", extra={"event": "web_refused", "user": user_id})
        return _refused()
    session_id = new_session_id()
    await open_session(deps.db, session_id, user_id, now, SESSION_TTL, address=request.remote or "")
    log.info("signed in", extra={"event": "web_sign_in", "user": user_id})
    response = web.HTTPFound("/app/", headers=NO_STORE)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/app/",
        httponly=True,
        secure=deps.secure_cookie,
        samesite="Strict",
    )
    raise response


async def signout(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    await close_session(deps.db, request.cookies.get(COOKIE, ""), deps.clock())
    response = web.HTTPFound("/app/signin", headers=NO_STORE)
    response.del_cookie(COOKIE, path="/app/")
    raise response
