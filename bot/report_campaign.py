"""Campaign answers as HTML blocks: the list, the dry-run report, the approval card, the stats.

Every function takes plain data (the service's report dict, records, counts) and a translator, and
returns blocks for `bot.format.pack`; values are escaped by the translator or by `esc`.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

from bot.format import esc, utc_text, visible
from bot.i18n import N_, Translator
from dispatcher.stats import FAILED, CampaignStats
from policy.dry_run import DryRunReport
from storage.campaigns import CampaignRecord

CHANNEL_NAMES = {"email": N_("email"), "telegram": N_("Telegram"), "sms": N_("SMS"), "vk": N_("VK")}


def channel_name(tr: Translator, channel: str) -> Markup:
    return tr.gettext(CHANNEL_NAMES[channel]) if channel in CHANNEL_NAMES else Markup(esc(channel))


STATUS_NAMES = {
    "draft": N_("draft"),
    "dry_run": N_("dry run done"),
    "pending_approval": N_("waiting for approval"),
    "approved": N_("approved"),
    "scheduled": N_("scheduled"),
    "sending": N_("sending"),
    "done": N_("done"),
    "rejected": N_("rejected"),
    "cancelled": N_("cancelled"),
    "paused": N_("paused"),
}
REASON_NAMES = {
    "no_address": N_("no address"),
    "no_consent": N_("no consent"),
    "protected": N_("protected segment"),
    "no_window": N_("no send window before the deadline"),
    "silence": N_("silence window"),
    "cap": N_("frequency cap"),
}
PREVIEW_CHARS = 500


def status_name(tr: Translator, status: str) -> Markup:
    return tr.gettext(STATUS_NAMES[status]) if status in STATUS_NAMES else Markup(esc(status))


def reason_name(tr: Translator, reason: str) -> Markup:
    """`protected:rplus` → "protected segment rplus"."""
    kind, _, detail = reason.partition(":")
    name = tr.gettext(REASON_NAMES[kind]) if kind in REASON_NAMES else Markup(esc(kind))
    return Markup(f"{name} {esc(detail)}") if detail else name


def contacts(tr: Translator, n: int) -> Markup:
    return tr.ngettext("{n} contact", "{n} contacts", n)


def _counts(values: Mapping[str, int]) -> str:
    return ", ".join(f"{esc(k)} {v}" for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def campaign_list(records: list[CampaignRecord], tr: Translator) -> list[str]:
    if not records:
        return [tr.gettext("No campaigns yet. Send me a campaign file (.toml) to add one.")]
    blocks: list[str] = [tr.ngettext("<b>{n} campaign</b>", "<b>{n} campaigns</b>", len(records))]
    for record in sorted(records, key=lambda r: r.updated_at, reverse=True):
        tail = tr.gettext(" · planned {n}", n=record.dry_run.planned) if record.dry_run else ""
        blocks.append(
            f"• <code>{esc(record.id)}</code> {esc(record.name)} — {esc(record.priority)}, "
            f"{status_name(tr, record.status)}{tail}"
        )
    return blocks


def summary_blocks(report: DryRunReport, tr: Translator) -> list[str]:
    """The counting part of a dry run, shared by the /dryrun answer and the approval card."""
    blocks: list[str] = [tr.gettext("Audience: {n}", n=contacts(tr, report.audience))]
    if report.excluded:
        blocks.append(tr.gettext("Excluded: {n}", n=report.excluded_total))
        blocks += [f"  • {reason_name(tr, k)}: {v}" for k, v in report.excluded.items()]
    blocks.append(
        tr.gettext(
            "Eligible: {eligible} · holdout: {holdout} · <b>planned: {planned}</b>",
            eligible=report.eligible,
            holdout=report.holdout,
            planned=report.planned,
        )
    )
    for values, label in (
        (report.by_version, N_("By version")),
        (report.by_variant, N_("By variant")),
        (report.by_channel, N_("By channel")),
        (report.by_rfm, N_("By RFM segment")),
    ):
        if values:
            blocks.append(f"{tr.gettext(label)}: {_counts(values)}")
    if report.sms_parts is not None:
        blocks.append(
            tr.gettext(
                "SMS: {parts} parts, cost {cost}", parts=report.sms_parts, cost=f"{report.sms_cost or 0:.2f}"
            )
        )
    if report.first_due:
        blocks.append(
            tr.gettext(
                "First due {first}, last due {last}",
                first=utc_text(report.first_due),
                last=utc_text(report.last_due),
            )
        )
    if report.widened_protect:
        blocks.append(
            tr.gettext(
                "⚠️ Widens the policy's protections: {names} would receive this mass send.",
                names=", ".join(report.widened_protect),
            )
        )
    return blocks


def dry_run_blocks(report: DryRunReport, record: CampaignRecord, tr: Translator) -> list[str]:
    blocks: list[str] = [
        tr.gettext(
            "<b>Dry run of {id}</b> «{name}» ({priority}) at {at}",
            id=record.id,
            name=record.name,
            priority=record.priority,
            at=utc_text(report.at),
        )
    ]
    blocks += summary_blocks(report, tr)
    blocks.append(tr.gettext("Status: {status}", status=status_name(tr, report.status or "")))
    for name, preview in report.previews.items():
        blocks.append(
            tr.gettext(
                "Preview «{version}» ({channel}, for {contact}):",
                version=name,
                channel=preview.channel,
                contact=preview.contact,
            )
        )
        text = visible(preview.telegram) if preview.telegram else preview.text
        if len(text) > PREVIEW_CHARS:
            text = text[:PREVIEW_CHARS] + "…"
        subject = f"<b>{esc(preview.subject)}</b>\n" if preview.subject else ""
        blocks.append(f"<blockquote>{subject}{esc(text)}</blockquote>")
    return blocks


def card_text(record: CampaignRecord, report: DryRunReport, tr: Translator) -> str:
    blocks: list[str] = [
        tr.gettext(
            "🗳 <b>Approval needed: {id}</b> «{name}»\nAuthor: {author}; dry run at {at}.",
            id=record.id,
            name=record.name,
            author=record.author,
            at=utc_text(report.at),
        )
    ]
    if report.compared_with is not None and report.compared_planned is not None:
        blocks.append(
            tr.gettext(
                "↕️ Occurrence of a series: planned {planned}, against {before} under {source} ({change}).",
                planned=report.planned,
                before=report.compared_planned,
                source=report.compared_with,
                change=_change(report.compared_planned, report.planned),
            )
        )
    blocks += summary_blocks(report, tr)
    return "\n".join(blocks)


def _change(before: int, after: int) -> str:
    return f"{(after - before) / before:+.0%}" if before else f"+{after}"


def decision_line(tr: Translator, decision: str, by: str, at: str) -> str:
    if decision == "approved":
        return tr.gettext("✅ Approved by {by} at {at}.", by=by, at=at)
    if decision == "rejected":
        return tr.gettext("❌ Rejected by {by} at {at}.", by=by, at=at)
    return tr.gettext("↪️ Superseded by a newer dry run at {at}.", at=at)


def stats_blocks(record: CampaignRecord, stats: CampaignStats, tr: Translator) -> list[str]:
    blocks: list[str] = [
        tr.gettext(
            "<b>Results of {id}</b> «{name}» — {status}",
            id=record.id,
            name=record.name,
            status=status_name(tr, record.status),
        )
    ]
    blocks.append(
        tr.gettext(
            "Sent {sent} · failed {failed} · suppressed {suppressed} · holdout {holdout} · waiting {waiting}",
            sent=stats.count("sent"),
            failed=stats.failed,
            suppressed=stats.count("suppressed"),
            holdout=stats.count("holdout"),
            waiting=stats.waiting,
        )
    )
    if stats.channels:
        blocks.append(
            tr.gettext(
                "By channel: {channels}",
                channels=Markup(" · ").join(
                    tr.gettext(
                        "{channel} {sent} sent, {delivered} delivered, {bounced} bounced,"
                        " {complaints} complaints, {failed} failed",
                        channel=channel_name(tr, channel),
                        sent=stats.on_channel(channel, "sent"),
                        delivered=stats.delivered(channel),
                        bounced=stats.bounced(channel),
                        complaints=stats.complaints(channel),
                        failed=stats.on_channel(channel, *FAILED),
                    )
                    for channel in stats.channels
                ),
            )
        )
    if stats.sms is not None:
        blocks.append(
            tr.gettext(
                "SMS: {sent} sent, {parts} parts, cost {cost}; delivered {delivered}, failed {failed}",
                sent=stats.sms.sent,
                parts=stats.sms.parts,
                cost="—" if stats.sms.cost is None else f"{stats.sms.cost:.2f}",
                delivered=stats.sms.delivered,
                failed=stats.sms.failed,
            )
        )
    for kind, label in (("open", N_("Opens")), ("click", N_("Clicks")), ("unsubscribe", N_("Unsubscribes"))):
        reaction = stats.reaction(kind)
        blocks.append(
            tr.gettext(
                "{label}: {count} ({people})",
                label=tr.gettext(label),
                count=reaction.events,
                people=contacts(tr, reaction.people),
            )
        )
    treated, holdout = stats.treated, stats.holdout
    blocks.append(
        tr.gettext(
            "Conversions (paid orders within {days} days of sending): {orders}, revenue {revenue}",
            days=stats.attribution.days,
            orders=treated.orders,
            revenue=f"{treated.revenue:,.0f}".replace(",", " "),
        )
    )
    result = stats.uplift
    if result is None:
        blocks.append(tr.gettext("No holdout to compare with yet."))
        return blocks
    blocks.append(
        tr.gettext(
            "Converted: treated {t:.1%} of {tn}, holdout {h:.1%} of {hn}",
            t=result.treated_rate,
            tn=treated.contacts,
            h=result.holdout_rate,
            hn=holdout.contacts,
        )
    )
    interval = tr.gettext(
        "Uplift {diff:+.1%} (95% CI {low:+.1%} … {high:+.1%})",
        diff=result.difference,
        low=result.low,
        high=result.high,
    )
    verdict = tr.gettext("significant") if result.significant else tr.gettext("not significant")
    blocks.append(f"{interval} — <b>{verdict}</b>")
    return blocks
