"""/dryrun of a campaign whose template is too heavy for a real recipient: a specific reply, in time."""

from __future__ import annotations

import re
import time

from dispatcher.render import RenderLimits
from storage.campaigns import get_campaign
from tests.bot.conftest import AUTHOR, WORKED, BotWorld

# Light for the sample contact the file check renders, endless for anyone real.
HEAVY = (
    "{% if contact.id != 'sample' %}{% for i in range(99999) %}{% for j in range(99999) %}"
    "{% endfor %}{% endfor %}{% endif %}"
)


async def test_dry_run_of_a_too_slow_template_is_refused_with_the_template_and_reason(
    world: BotWorld,
) -> None:
    world.app.service.renderer.limits = RenderLimits(timeout_s=0.3)
    source = (
        (WORKED / "campaign.toml")
        .read_text(encoding="utf-8")
        .replace("Новый разбор для вас.", HEAVY)
        .replace("2026-11-20T12:00:00", "2026-11-24T09:00:00")  # starts now (the world's clock)
        .replace("2026-11-23T12:00:00", "2026-11-27T12:00:00")
    )
    [added] = await world.upload(AUTHOR, "heavy.toml", source.encode())
    assert added.text == "worked-1: added as draft; /dryrun worked-1"

    started = time.monotonic()
    [reply] = await world.say(AUTHOR, "/dryrun worked-1")
    assert time.monotonic() - started < 10  # not the hours the loops would take
    assert re.fullmatch(
        r"Not done: preview for \w+: worked-1:versions\.all\.text, line 1: took longer than 0\.3 s",
        reply.text or "",
    ), reply.text
    record = await get_campaign(world.app.db, "worked-1")
    assert record is not None and record.status == "draft" and record.dry_run is None
