"""The dashboard's pages: each reads the same models the bot and the CLI render (the calendar, campaign
stats, explain) and hands them to a template."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from dispatcher.charts import bar_chart, daily_chart, uplift_chart
from dispatcher.explain import explain_contact
from dispatcher.plan_calendar import CalendarDay, local_days, plan_calendar
from dispatcher.stats import ATTRIBUTION, CampaignStats, campaign_stats
from storage.audit import recent_audit
from storage.campaigns import get_campaign, list_campaigns
from storage.daily_stats import DayCounts, campaign_days
from storage.history import QUEUE_GROUPS, RECENT_S, ContactHistory, contact_history, queue_status
from storage.team import at_least
from web.deps import WEB, visitor
from web.pages import NO_STORE, message_page, render

CALENDAR_DAYS = 30
CHART_DAYS = 30  # at most: a campaign's chart spans from the day before it was planned
MIN_CHART_DAYS = 7
QUEUE_ERRORS = 20  # the latest failed / uncertain rows the queue page lists
MAX_ID = 200  # longer ids name nothing: they are echoed shortened


@dataclass(frozen=True)
class Light:
    color: str  # green | amber | red
    why: str


def light(day: CalendarDay) -> Light:
    """The day's traffic light: red over a cap, amber when contacts get two messages, else green."""
    why = [f"over {cap}: {n} contacts" for cap, n in day.over_caps]
    if day.double_booked:
        why.append(f"{day.double_booked} contacts get 2+ non-service messages")
    color = "red" if day.over_caps else "amber" if day.double_booked else "green"
    return Light(color, "; ".join(why) or "no conflicts")


async def calendar(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    report = await plan_calendar(deps.reports, deps.policy, deps.clock(), CALENDAR_DAYS)
    columns = sorted({(r.version or "all", r.channel) for d in report.days for r in d.rows})
    cells: dict[tuple[str, str, str], list[tuple[str, int]]] = defaultdict(list)
    for day in report.days:
        for r in day.rows:
            cells[(day.day.isoformat(), r.version or "all", r.channel)].append((r.campaign_id, r.count))
    return render(
        request,
        "calendar.html",
        {
            "title": "Calendar",
            "report": report,
            "columns": columns,
            "cells": cells,
            "lights": {d.day: light(d) for d in report.days},
        },
    )


async def campaigns(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    records = await list_campaigns(deps.db)
    return render(
        request,
        "campaigns.html",
        {"title": "Campaigns", "records": records[::-1], "timezone": deps.policy.default_timezone},
    )


def revenue_per_send(stats: CampaignStats) -> list[tuple[str, float]]:
    """Revenue per send by segment (campaign version), from the stats' groups."""
    sent: dict[str, int] = defaultdict(int)
    money: dict[str, float] = defaultdict(float)
    for g in stats.groups:
        sent[g.version or "all"] += g.sent
        money[g.version or "all"] += g.revenue
    return [(v, money[v] / sent[v]) for v in sorted(sent) if sent[v]]


def _svg(data: bytes) -> str:
    text = data.decode("utf-8")
    return text[text.index("<svg") :]  # inline: without the XML prolog


async def campaign(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    campaign_id = request.match_info["id"]
    record = await get_campaign(deps.db, campaign_id)
    if record is None:
        return message_page(
            request, "No such campaign", f"There is no campaign {campaign_id[:MAX_ID]!r}.", 404
        )
    now = deps.clock()
    stats = await campaign_stats(
        deps.reports, campaign_id, now, sms_price=deps.policy.channels.sms.price_per_part
    )
    first = record.planned_at or record.created_at
    span = min(CHART_DAYS, max(MIN_CHART_DAYS, (now - first).days + 2))  # from the day before planning
    local = local_days(now - timedelta(days=span - 1), deps.policy.default_timezone, span)
    days = await campaign_days(deps.db, campaign_id, local, ATTRIBUTION)
    rps = revenue_per_send(stats)
    charts = await asyncio.to_thread(_campaign_charts, campaign_id, days, rps, stats)
    member = visitor().member
    return render(
        request,
        "campaign.html",
        {
            "title": f"Campaign {record.id}",
            "record": record,
            "stats": stats,
            "days": days,
            "rps": rps,
            "charts": charts,
            "timezone": deps.policy.default_timezone,
            "may_decide": record.status == "pending_approval" and at_least(member.role, "approver"),
        },
    )


def _campaign_charts(
    campaign_id: str, days: list[DayCounts], rps: list[tuple[str, float]], stats: CampaignStats
) -> dict[str, str]:
    charts = {"daily": _svg(daily_chart(days, f"{campaign_id}: per day", "svg"))}
    if rps:
        charts["rps"] = _svg(
            bar_chart([s for s, _ in rps], [v for _, v in rps], "revenue per send by segment")
        )
    if stats.uplift is not None:
        charts["uplift"] = _svg(uplift_chart(stats.uplift))
    return charts


async def decision(request: web.Request) -> web.Response:
    """Approve or reject from the dashboard: the campaign service's four-eyes path, as the bot's buttons."""
    deps = request.app[WEB]
    campaign_id = request.match_info["id"]
    posted = await request.post()
    verdict, shown = posted.get("verdict"), posted.get("fingerprint")
    record = await get_campaign(deps.db, campaign_id)
    if record is None or verdict not in ("approve", "reject"):
        return message_page(request, "Nothing decided", "There is no such campaign or decision.", 400)
    if record.dry_run_fingerprint != shown:
        return message_page(
            request,
            "Nothing decided",
            "This page showed an older dry run: open the campaign again and decide on the newest one.",
            409,
        )
    member = visitor().member
    now = deps.clock()
    by = str(member.user_id)
    try:
        if verdict == "approve":
            record = await deps.service.approve(campaign_id, by=by, at=now, source="web")
        else:
            record = await deps.service.reject(campaign_id, by=by, at=now, source="web")
    except ValueError as exc:  # refusals, policy, DSL and template problems: each a ValueError sentence
        return message_page(request, "Nothing decided", f"Refused: {exc}.", 403)
    if deps.decided is not None:
        await deps.decided(record, "approved" if verdict == "approve" else "rejected", member, now)
    raise web.HTTPSeeOther(f"/app/campaigns/{campaign_id}", headers=NO_STORE)


async def find_contact(request: web.Request) -> web.Response:
    contact_id = request.query.get("id", "").strip()
    if not contact_id:
        return message_page(request, "Which contact?", "Type a contact's id in the search box.", 400)
    raise web.HTTPFound(request.app.router["contact"].url_for(id=contact_id[:MAX_ID]), headers=NO_STORE)


async def contact(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    contact_id = request.match_info["id"]
    explained = await explain_contact(
        deps.db, deps.policy, contact_id, deps.clock(), campaigns=deps.campaigns
    )
    if explained is None:
        return message_page(request, "No such contact", f"There is no contact {contact_id[:MAX_ID]!r}.", 404)
    history = await contact_history(deps.db, contact_id) or ContactHistory(messages=[], events=[])
    return render(
        request,
        "contact.html",
        {
            "title": f"Contact {contact_id}",
            "explained": explained,
            "history": history,
            "timezone": deps.policy.default_timezone,
        },
    )


async def queue(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    now = int(deps.clock().timestamp())
    status = await queue_status(deps.db, now=now, errors=QUEUE_ERRORS)
    campaigns = [r for r in await list_campaigns(deps.db) if r.id in status.by_campaign]
    return render(
        request,
        "queue.html",
        {
            "title": "Queue",
            "status": status,
            "campaigns": campaigns,
            "groups": QUEUE_GROUPS,
            "recent_minutes": RECENT_S // 60,
            "timezone": deps.policy.default_timezone,
        },
    )


async def audit_log(request: web.Request) -> web.Response:
    deps = request.app[WEB]
    rows = await recent_audit(deps.db, limit=200, action_prefix=request.query.get("action", "")[:50])
    return render(
        request, "audit.html", {"title": "Audit log", "rows": rows, "timezone": deps.policy.default_timezone}
    )
