"""A heavy template fails its own message and nothing else: HTTP keeps answering, other rows go out."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from dispatcher.render import RenderLimits, TemplateProblem
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax

NESTED_LOOPS = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"


def write_template(root: Path, body: str) -> None:
    folder = root / "heavy_note"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "subject.j2").write_text("Новости школы", encoding="utf-8")
    (folder / "email.txt.j2").write_text(
        f"Здравствуйте!\n{body}\n{{{{ unsubscribe_url }}}}", encoding="utf-8"
    )


def note_campaign(world: World) -> str:
    now = world.clock()
    text = campaign_toml("heavy-1", start=now, deadline=now + timedelta(days=1))
    head, _, _ = text.partition("[[versions]]")
    return head + '[[versions]]\nsegment = "all"\ntemplate = "heavy_note"\n'


async def test_http_answers_within_a_second_while_a_dry_run_renders_a_pathological_template(
    world: World,
) -> None:
    root = world.app.settings.templates
    assert root is not None
    write_template(root, "Коротко.")
    now = world.clock()
    await add_contacts(world.app.db, ["h1", "h2"], at=now)
    await world.app.service.add(note_campaign(world), "heavy.toml", by=AUTHOR, at=now)
    write_template(root, NESTED_LOOPS)  # edited on disk after it was added: the dry run renders it

    runner = web.AppRunner(world.app.http, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        dry_run = asyncio.create_task(world.app.service.dry_run("heavy-1", at=now, by=AUTHOR))
        latencies: list[float] = []
        async with aiohttp.ClientSession() as http:
            while not dry_run.done():
                started = time.monotonic()
                async with http.get(f"http://{host}:{port}/healthz") as response:
                    assert response.status == 200
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.05)
        with pytest.raises(TemplateProblem) as caught:
            await dry_run
    finally:
        await runner.cleanup()
    assert str(caught.value) == "heavy_note/email.txt.j2, line 2: took longer than 2 s"
    assert len(latencies) >= 10  # the loop kept turning through the whole render
    assert max(latencies) < 1.0, latencies


async def test_a_row_over_the_limit_at_send_time_fails_with_a_template_reason(world: World) -> None:
    """The contact's data grows after the approval: that one message is over 1 MB and fails; the
    others are delivered through the real SMTP server."""
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["s1", "s2", "s3"], at=now)
    text = campaign_toml("big-1", start=now, deadline=now + timedelta(days=1))
    text = text.replace("Новости школы.", "{{ contact.name * 3000 }}")
    service = world.app.service
    await service.add(text, "big.toml", by=AUTHOR, at=now)
    await service.dry_run("big-1", at=now, by=AUTHOR)
    await service.approve("big-1", by=APPROVER, at=now)
    await service.plan("big-1", at=now)
    async with world.app.db.transaction() as conn:  # 206 characters × 3000 = 1.2 MB of UTF-8
        await conn.execute("UPDATE contacts SET name = ? WHERE id = 's2'", ("Гость " + "Ж" * 200,))

    while (await world.app.dispatch(now)).claimed:
        pass
    rows = {r["contact_id"]: (r["status"], r["error"]) for r in await rows_of_campaign(world.app.db, "big-1")}
    assert rows["s1"][0] == rows["s3"][0] == "sent"
    assert rows["s2"] == ("failed", "template: big-1:versions.all.text: produced more than 1 MB")
    assert sorted(m.rcpt_tos[0] for m in world.smtp.messages) == ["s1@example.org", "s3@example.org"]


async def test_the_render_time_limit_applies_at_send_time_and_to_previews(world: World) -> None:
    relax(world)
    world.app.service.renderer.limits = RenderLimits(timeout_s=0.3)  # the worker's renderer too
    now = world.clock()
    body = "{% if contact.id != 'sample' %}" + NESTED_LOOPS + "{% endif %}"  # only for real recipients
    text = campaign_toml("slow-1", start=now, deadline=now + timedelta(days=1), priority="service")
    service = world.app.service
    await service.add(text.replace("Новости школы.", body), "slow.toml", by=AUTHOR, at=now)
    await service.dry_run("slow-1", at=now, by=AUTHOR)  # nobody to preview but the sample yet
    await add_contacts(world.app.db, ["t1"], at=now)
    await service.plan("slow-1", at=now)

    started = time.monotonic()
    while (await world.app.dispatch(now)).claimed:
        pass
    assert time.monotonic() - started < 10  # not the hours the loops would take
    [row] = await rows_of_campaign(world.app.db, "slow-1")
    assert (row["status"], row["error"]) == (
        "failed",
        "template: slow-1:versions.all.text, line 1: took longer than 0.3 s",
    )
    assert world.smtp.messages == []
    with pytest.raises(
        ValueError, match=r"^preview for t1: slow-1:versions.all.text, line 1: took longer than"
    ):
        await service.dry_run("slow-1", at=now, by=AUTHOR)
