"""Answers about the base as HTML blocks: segment sizes, one segment, RFM, one contact, the calendar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from babel.dates import format_date, format_time
from markupsafe import Markup

from bot.format import caret_block, esc, mask_email, mask_name, utc_text
from bot.i18n import N_, Translator
from bot.report_campaign import channel_name, contacts, status_name
from dispatcher.explain_report import CampaignVerdict, Explanation
from dispatcher.plan_calendar import CalendarDay, CalendarReport
from policy.dsl import DslError
from policy.occurrences import UPCOMING
from policy.timeutil import from_epoch, zone

RULE_NAMES = {
    "window": N_("send window"),
    "quiet_hours": N_("quiet hours"),
    "silence": N_("silence"),
    "cap": N_("caps"),
}


def _share(n: int, total: int) -> str:
    return f"{n / total:.0%}" if total else "—"


def segments_blocks(
    total: int, rfm: Mapping[str, int], saved: Mapping[str, int | str], tr: Translator
) -> list[str]:
    blocks: list[str] = [
        tr.gettext("<b>Base</b>: {n}", n=contacts(tr, total)),
        tr.gettext("<b>RFM segments</b>"),
    ]
    blocks += [f"  • {esc(name)}: {n} ({_share(n, total)})" for name, n in rfm.items()]
    blocks.append(tr.gettext("<b>Saved segments</b> (policy)"))
    for name, n in saved.items():
        shown = f"{n} ({_share(n, total)})" if isinstance(n, int) else f"⚠️ {esc(n)}"
        blocks.append(f"  • <code>{esc(name)}</code>: {shown}")
    return blocks


def segment_blocks(
    label: str,
    size: int,
    total: int,
    reach: Mapping[str, int],
    rfm: Mapping[str, int],
    sample: Sequence[tuple[str, str | None, str | None]],
    tr: Translator,
) -> list[str]:
    blocks: list[str] = [
        tr.gettext(
            "<b>{label}</b>: {n} ({share} of the base)",
            label=label,
            n=contacts(tr, size),
            share=_share(size, total),
        ),
        tr.gettext("Reachable:"),
    ]
    blocks += [f"  • {channel_name(tr, ch)}: {n}" for ch, n in reach.items()]
    if rfm:
        blocks.append(tr.gettext("By RFM segment:"))
        blocks += [f"  • {esc(name)}: {n}" for name, n in rfm.items()]
    if sample:
        blocks.append(tr.gettext("Sample:"))
        blocks += [
            f"  • {esc(mask_name(name))} ({esc(cid)}) {esc(mask_email(email))}" for cid, name, email in sample
        ]
    return blocks


def dsl_error_blocks(text: str, error: DslError, tr: Translator) -> list[str]:
    """The expression with a caret under the column the parser stopped at, and its sentence."""
    return [
        tr.gettext("That segment expression has an error:"),
        caret_block(text, error.column),
        tr.gettext("Column {column}: {reason}", column=error.column, reason=error.reason),
    ]


def rfm_blocks(counts: Mapping[str, int], tr: Translator) -> list[str]:
    total = sum(counts.values())
    blocks: list[str] = [tr.gettext("<b>RFM</b> over {n}", n=contacts(tr, total))]
    blocks += [f"  • {esc(name)}: {n} ({_share(n, total)})" for name, n in counts.items()]
    return blocks


def contact_blocks(explained: Explanation, tr: Translator) -> list[str]:
    """`dispatcher.explain.explain_contact`'s answer, for a person."""
    rfm, window = explained.rfm, explained.window
    blocks: list[str] = [
        tr.gettext(
            "<b>Contact {id}</b> · {tz}, local time {local}",
            id=explained.contact,
            tz=explained.timezone,
            local=explained.local_time,
        ),
        tr.gettext("Reachable:"),
    ]
    for channel, reach in explained.reachable.items():
        mark = "✅" if reach.ok else "—"
        blocks.append(f"  {mark} {channel_name(tr, channel)}: {esc(reach.why)}")
    if explained.protected_by:
        blocks.append(tr.gettext("🛡 Protected from mass sends: {segment}", segment=explained.protected_by))
    scores = f" R{rfm.r} F{rfm.f} M{rfm.m}" if rfm else ""
    blocks.append(tr.gettext("RFM: {segment}{scores}", segment=explained.rfm_segment, scores=scores))
    blocks.append(
        tr.gettext(
            "Send window: {from_}–{to} {days} ({segment})",
            from_=window.from_,
            to=window.to,
            days=window.days,
            segment=explained.window_segment,
        )
    )
    for silence in explained.silences:
        blocks.append(
            tr.gettext(
                "🔇 Silence until {ends} ({reason}, blocks {blocks})",
                ends=utc_text(silence.ends),
                reason=silence.reason,
                blocks=silence.blocks,
            )
        )
    blocks.append(tr.gettext("Rules for a mass message now:"))
    for rule in explained.rules_now:
        mark = "✅" if rule.ok else "⛔"
        label = tr.gettext(RULE_NAMES[rule.rule]) if rule.rule in RULE_NAMES else Markup(esc(rule.rule))
        blocks.append(f"  {mark} {label}: {esc(rule.detail)}")
    for priority, title in (("mass", N_("Next mass message")), ("scenario", N_("Next scenario message"))):
        item = explained.next.get(priority)
        when = utc_text(item.at) if item and item.at else tr.gettext("none")
        blocks.append(f"{tr.gettext(title)}: <b>{esc(when)}</b> — {esc(item.why if item else '')}")
    if explained.campaign:
        blocks.append(_campaign_line(explained.campaign, tr))
    return blocks


def _campaign_line(campaign: CampaignVerdict, tr: Translator) -> Markup:
    if not campaign.in_audience:
        return tr.gettext("Campaign {id}: not in its audience.", id=campaign.id)
    if campaign.excluded:
        return tr.gettext("Campaign {id}: excluded ({reason}).", id=campaign.id, reason=campaign.excluded)
    if campaign.holdout:
        return tr.gettext("Campaign {id}: in the holdout (kept as control).", id=campaign.id)
    return tr.gettext(
        "Campaign {id}: due {due} by {channel}, version {version}.",
        id=campaign.id,
        due=utc_text(from_epoch(campaign.due_at) if campaign.due_at is not None else None),
        channel=campaign.channel or "",
        version=campaign.version or "",
    )


def calendar_blocks(report: CalendarReport, tr: Translator) -> list[str]:
    blocks: list[str] = [tr.gettext("<b>Next 7 days</b> ({tz})", tz=report.timezone)]
    for day in report.days:
        label = format_date(day.day, "EEE d MMM", locale=tr.locale)
        if not day.rows:
            blocks.append(tr.gettext("<b>{day}</b>: nothing planned", day=label))
            blocks += _series_lines(day, report.timezone, tr)
            continue
        blocks.append(
            tr.ngettext("<b>{day}</b>: {n} message", "<b>{day}</b>: {n} messages", day.total, day=label)
        )
        for r in day.rows:
            version = f" · {esc(r.version)}" if r.version else ""
            name = f" {esc(r.name)}" if r.name else ""
            channel = channel_name(tr, r.channel)
            label = f"<code>{esc(r.campaign_id)}</code>{name} ({esc(r.priority)}){version}"
            blocks.append(f"  • {label} · {channel}: {r.count}")
        if day.double_booked:
            blocks.append(
                tr.ngettext(
                    "  ⚠️ {n} contact gets 2+ non-service messages this day",
                    "  ⚠️ {n} contacts get 2+ non-service messages this day",
                    day.double_booked,
                )
            )
        for described, over in day.over_caps:
            blocks.append(tr.gettext("  ⚠️ over the cap {cap}: {n}", cap=described, n=contacts(tr, over)))
        blocks += _series_lines(day, report.timezone, tr)
    return blocks


def _series_lines(day: CalendarDay, timezone: str, tr: Translator) -> list[str]:
    """Occurrences of series starting this day, not planned yet (they are an hour before their start)."""
    return [
        tr.gettext(
            "  🔁 <code>{id}</code> {name}: series occurrence at {time} — {state}",
            id=slot.campaign_id,
            name=slot.name,
            time=format_time(slot.start, "HH:mm", tzinfo=zone(timezone), locale=tr.locale),
            state=tr.gettext("not planned yet") if slot.state == UPCOMING else status_name(tr, slot.state),
        )
        for slot in day.series
    ]
