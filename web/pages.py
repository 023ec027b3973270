"""Rendering the dashboard's pages: one Jinja2 environment (autoescaped) over web/templates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from policy.timeutil import from_epoch
from web.deps import VISITOR

NO_STORE = {"Cache-Control": "no-store, max-age=0"}
# Pages may load nothing from elsewhere (and run no inline script: the little JS is a same-origin file).
SECURITY = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    return env


def local_time(value: int | datetime | None, timezone: str) -> str:
    """An instant in the policy's timezone, with the zone's name."""
    if value is None:
        return "—"
    moment = from_epoch(value) if isinstance(value, int) else value
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def render(
    request: web.Request | None, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    signed = VISITOR.get() if request is not None else None
    page = environment().get_template(template)
    text = page.render(
        member=signed.member if signed else None,
        form=signed.form if signed else None,
        path=request.path if request else "",
        **context,
    )
    return web.Response(text=text, content_type="text/html", status=status, headers=SECURITY)


def message_page(request: web.Request | None, title: str, text: str, status: int = 200) -> web.Response:
    return render(request, "message.html", {"title": title, "text": text}, status)
