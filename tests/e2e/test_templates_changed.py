"""Templates edited after approval: nothing goes out with text nobody approved."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from storage.campaigns import get_campaign
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, relax


def write_template(root: Path, body: str) -> None:
    folder = root / "news_note"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "subject.j2").write_text("Новости школы", encoding="utf-8")
    (folder / "email.txt.j2").write_text(body + "\n\nОтписаться: {{ unsubscribe_url }}", encoding="utf-8")


async def approved_note(world: World, campaign_id: str) -> tuple[Path, datetime]:
    """Six contacts and an approved, planned campaign on the `news_note` template, its first batch of
    two sent; the templates' root and the clock's time."""
    relax(world)
    world.app.worker.batch = 2
    root = world.app.settings.templates
    assert root is not None
    write_template(root, "Версия, которую утвердили.")
    now = world.clock()
    await add_contacts(world.app.db, [f"n{i}" for i in range(6)], at=now)
    text = f"""
id = "{campaign_id}"
name = "Note"
priority = "mass"
channels = ["email"]
audience = "all"
start = "{now.isoformat()}"
deadline = "{(now + timedelta(days=1)).isoformat()}"
windows = {{ from = "00:00", to = "00:00" }}
[[versions]]
segment = "all"
template = "news_note"
"""
    service = world.app.service
    await service.add(text, "note.toml", by=AUTHOR, at=now)
    await service.dry_run(campaign_id, at=now, by=AUTHOR)
    await service.approve(campaign_id, by=APPROVER, at=now)
    await service.plan(campaign_id, at=now)
    assert (await world.app.dispatch(now)).outcomes["sent"] == 2
    return root, now


async def test_the_worker_holds_a_campaign_whose_templates_changed(world: World) -> None:
    world.app.campaigns.fingerprint_ttl_s = 0  # look at the files on every tick
    root, now = await approved_note(world, "note-1")
    service = world.app.service

    write_template(root, "Версия, которую никто не видел.")
    held = await world.app.dispatch(now)
    record = await get_campaign(world.app.db, "note-1")
    assert record is not None and record.status == "pending_approval"
    assert held.outcomes["sent"] == 0
    assert (await world.app.dispatch(now)).claimed == 0  # held rows are not even claimed

    await service.dry_run("note-1", at=now, by=AUTHOR)
    await service.approve("note-1", by=APPROVER, at=now)
    await service.plan("note-1", at=now)
    while (await world.app.dispatch(now)).claimed:
        pass
    bodies = [m.message.get_body(("plain",)).get_content() for m in world.smtp.messages]  # type: ignore[union-attr]
    assert sum("которую утвердили" in b for b in bodies) == 2
    assert sum("никто не видел" in b for b in bodies) == 4
    assert {r["status"] for r in await rows_of_campaign(world.app.db, "note-1")} == {"sent"}


async def test_an_edit_between_two_looks_at_the_files_is_not_sent(world: World) -> None:
    """The worker looks at the files every `fingerprint_ttl_s`; in between, it sends what it last
    saw, which was approved — an edit is neither sent nor missed (the next look holds the campaign)."""
    world.app.campaigns.fingerprint_ttl_s = 3600
    root, now = await approved_note(world, "note-2")

    write_template(root, "Версия, которую никто не видел.")
    assert (await world.app.dispatch(now)).outcomes["sent"] == 2  # within the look's period
    world.app.campaigns.fingerprint_ttl_s = 0  # the next look
    assert (await world.app.dispatch(now)).outcomes["sent"] == 0
    record = await get_campaign(world.app.db, "note-2")
    assert record is not None and record.status == "pending_approval"
    bodies = [m.message.get_body(("plain",)).get_content() for m in world.smtp.messages]  # type: ignore[union-attr]
    assert sum("которую утвердили" in b for b in bodies) == 4
    assert not any("никто не видел" in b for b in bodies)
