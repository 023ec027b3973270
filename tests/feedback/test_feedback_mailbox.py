"""The bounce/feedback mailbox over real IMAP (dovecot): DSNs suppress, complaints revoke, twice is once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from typer.testing import CliRunner

from bot.i18n import shipped_catalogs
from bot.report_campaign import stats_blocks
from dispatcher.stats import campaign_stats
from ritm.cli.common import STATE
from storage.feedback import kept_aside
from storage.outbox import rows_of_campaign
from tests.cli_support import root_app
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax
from tests.feedback.conftest import mailbox_of
from tests.feedback.imap_support import ImapServer, dovecot
from tests.feedback.reports import arf, dsn, unsubscribe_mail


async def send_campaign(world: World, campaign_id: str) -> dict[str, int]:
    """Approve, plan and send a mass email to everyone; the outbox row id per contact."""
    now = world.clock()
    text = campaign_toml(campaign_id, start=now, deadline=now + timedelta(days=1))
    await world.app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    await world.app.service.approve(campaign_id, by=APPROVER, at=now)
    await world.app.service.plan(campaign_id, at=now)
    while (await world.app.dispatch(now)).claimed:
        pass
    return {r["contact_id"]: r["id"] for r in await rows_of_campaign(world.app.db, campaign_id)}


async def cli_stats(world: World, campaign_id: str) -> tuple[int, str]:
    """`ritm campaign stats` on the world's database, in its own thread (the CLI runs its own loop)."""
    args = [
        "--db",
        str(world.app.db.path),
        "campaign",
        "stats",
        campaign_id,
        "--at",
        world.clock().isoformat(),
    ]
    try:
        result = await asyncio.to_thread(CliRunner().invoke, root_app(), args, env={"COLUMNS": "100"})
    finally:
        STATE.forget()
    return result.exit_code, result.output


async def suppression(world: World, address: str) -> str | None:
    row = await world.app.db.fetchone(
        "SELECT reason FROM suppressions WHERE channel = 'email' AND address = ?", (address,)
    )
    return None if row is None else str(row[0])


async def test_a_hard_bounce_in_the_mailbox_suppresses_the_address_before_the_next_campaign(
    world: World, imap: ImapServer
) -> None:
    relax(world)
    await add_contacts(world.app.db, ["b1", "b2"], at=world.clock())
    rows = await send_campaign(world, "first")
    [to_b1] = world.smtp.to("b1@example.org")
    assert to_b1.mail_from == f"bounces+{rows['b1']}@school.example"  # VERP: the row rides in the envelope
    # The bouncing server quotes nothing of the original: only the return path names the row.
    imap.append(dsn(to=to_b1.mail_from, recipient="b1@example.org", status="5.1.1"))

    report = await mailbox_of(world, imap).read_once()

    assert (report.read, dict(report.kinds), report.error) == (1, {"hard_bounce": 1}, None)
    assert await suppression(world, "b1@example.org") == "hard_bounce"
    assert await suppression(world, "b2@example.org") is None
    world.smtp.clear()
    world.clock.advance(timedelta(hours=1))
    await send_campaign(world, "second")
    assert [m.rcpt_tos for m in world.smtp.messages] == [("b2@example.org",)]
    second = {r["contact_id"]: r["status"] for r in await rows_of_campaign(world.app.db, "second")}
    assert second.get("b1") in (None, "suppressed")
    stats = await campaign_stats(world.app.reports, "first", world.clock())
    [group] = stats.to_json()["groups"]
    assert (group["sent"], group["bounced"], group["delivered"]) == (2, 1, 1)
    channel = stats.to_json()["channels"]["email"]
    assert (channel["sent"], channel["delivered"], channel["bounced"], channel["complaints"]) == (2, 1, 1, 0)
    # The CLI and the bot show the same per-channel figures.
    code, out = await cli_stats(world, "first")
    line = "email sent 2, delivered 1, bounced 1, complaints 0, failed 0"
    assert code == 0 and line in " ".join(out.split()), out
    record, _ = await world.app.service.load("first")
    blocks = stats_blocks(record, stats, shipped_catalogs().translator("ru"))
    assert any("доставлено 1, отказы 1, жалобы 0, ошибки 0" in block for block in blocks), blocks


async def test_a_complaint_revokes_the_email_consent_and_is_counted(world: World, imap: ImapServer) -> None:
    relax(world)
    await add_contacts(world.app.db, ["c1", "c2"], at=world.clock())
    await send_campaign(world, "digest")
    [to_c2] = world.smtp.to("c2@example.org")
    original_id = to_c2.message["Message-ID"]
    # The feedback loop redacts the recipient; the original's Message-ID names the row.
    imap.append(arf(recipient="c2@example.org", original_id=original_id, with_recipient=False))

    report = await mailbox_of(world, imap).read_once()

    assert dict(report.kinds) == {"complaint": 1}
    consent = await world.app.db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = 'c2' AND channel = 'email'"
    )
    assert consent is not None and tuple(consent) == ("revoked", "complaint")
    assert await suppression(world, "c2@example.org") == "complaint"
    stats = (await campaign_stats(world.app.reports, "digest", world.clock())).to_json()
    [group] = stats["groups"]
    assert (group["complaints"], group["bounced"], group["delivered"]) == (1, 0, 2)
    assert stats["channels"]["email"]["complaints"] == 1


async def test_reading_the_same_report_twice_changes_nothing_the_second_time(
    world: World, imap: ImapServer
) -> None:
    relax(world)
    await add_contacts(world.app.db, ["d1"], at=world.clock())
    rows = await send_campaign(world, "once")
    bounce = dsn(to=f"bounces+{rows['d1']}@school.example", recipient="d1@example.org", status="4.2.2")
    imap.append(bounce)
    imap.append(bounce)  # delivered twice (a retried delivery, a copy in the mailbox)
    mailbox = mailbox_of(world, imap)

    first = await mailbox.read_once()
    audit_rows = await world.app.db.fetchone("SELECT COUNT(*) FROM audit_log")
    again = await mailbox.read_once()

    assert (first.read, dict(first.kinds)) == (2, {"soft_bounce": 2})
    assert again.read == 0  # both carry our keyword now
    assert imap.flags() == ["1 (FLAGS (\\Seen $RitmRead))", "2 (FLAGS (\\Seen $RitmRead))"]
    reports = await world.app.db.fetchone("SELECT COUNT(*) FROM feedback_reports WHERE kind = 'soft_bounce'")
    assert reports is not None and reports[0] == 1  # one soft bounce, however often it is read
    assert await world.app.db.fetchone("SELECT COUNT(*) FROM audit_log") == audit_rows


async def test_an_unparsable_message_is_kept_aside_and_the_reader_goes_on(
    world: World, imap: ImapServer
) -> None:
    relax(world)
    await add_contacts(world.app.db, ["u1", "u2"], at=world.clock())
    await send_campaign(world, "mixed")
    imap.append(b"From: someone@example.net\r\nSubject: Out of office\r\n\r\nI am away until Monday.\r\n")
    imap.append(dsn(to="bounces@school.example", recipient="u1@example.org", status="nonsense"))
    imap.append(unsubscribe_mail(sender="U2 <u2@example.org>"))

    report = await mailbox_of(world, imap).read_once()

    assert (report.read, dict(report.kinds), report.error) == (3, {"unparsable": 2, "unsubscribe": 1}, None)
    reasons = sorted(k.detail for k in await kept_aside(world.app.db))
    assert reasons == [
        "neither a DSN, an ARF report nor an unsubscribe request",
        "the DSN's Status 'nonsense' is not an RFC 3463 code",
    ]
    consent = await world.app.db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = 'u2' AND channel = 'email'"
    )
    assert consent is not None and tuple(consent) == ("revoked", "unsubscribe_mail")
    assert await suppression(world, "u2@example.org") == "unsubscribe"
    assert await suppression(world, "u1@example.org") is None


async def test_a_mailbox_that_refuses_us_is_reported_not_raised(world: World, imap: ImapServer) -> None:
    imap.append(unsubscribe_mail(sender="x@example.org"))
    wrong = await mailbox_of(world, imap, imap_password="not-the-password").read_once()
    assert wrong.read == 0 and wrong.error is not None and "LOGIN" in wrong.error
    missing = await mailbox_of(world, imap, imap_mailbox="Feedback").read_once()
    assert missing.error is not None and "refused to open the mailbox 'Feedback'" in missing.error
    closed = await mailbox_of(world, imap, imap_port=1).read_once()
    assert closed.read == 0 and closed.error is not None
    assert imap.flags() == ["1 (FLAGS (\\Recent))"]  # nothing was marked read


async def test_the_mailbox_is_read_over_tls_and_an_untrusted_certificate_is_refused(world: World) -> None:
    await add_contacts(world.app.db, ["t1"], at=world.clock())
    with dovecot(tls=True) as imaps:
        imaps.append(unsubscribe_mail(sender="t1@example.org"))
        untrusted = await mailbox_of(world, imaps, trust=False).read_once()
        assert (
            untrusted.read == 0 and untrusted.error is not None and "CERTIFICATE" in untrusted.error.upper()
        )
        trusted = await mailbox_of(world, imaps).read_once()
        assert (trusted.read, dict(trusted.kinds), trusted.error) == (1, {"unsubscribe": 1}, None)
    assert await suppression(world, "t1@example.org") == "unsubscribe"
