"""`ritm pause` mid-send (SPEC §12.2): once the pause is committed no mass message is handed to a
channel — at most the ones already in a connection arrive — while service messages still go out;
`ritm resume` sends the rest, each exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import Database
from storage.pause import set_paused
from tests.faults.outbox_view import TO_DO, ids_of, statuses
from tests.faults.process import SMTP_POOL_SIZE, RitmRun, Wiring, ritm_command
from tests.faults.seed import plan_campaign, seed
from tests.faults.tally import Figures, poll
from tests.faults.world import Mailroom

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

MESSAGES = 600
PAUSE_AT = 250  # arrivals; between a 200-row batch's bounds, so a per-batch check would leak


async def test_pause_mid_send(tmp_path: Path, mail: Mailroom, show: Callable[[Figures], None]) -> None:
    started = time.monotonic()
    base = await seed(tmp_path, email=MESSAGES)
    mass = ids_of(base.db, base.campaign)
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port, smtp_rate_per_s=100)
    run = await RitmRun.start(wiring, "run")
    assert await poll(lambda: mail.accepted() >= PAUSE_AT, 90), run.output()[-3000:]
    db = await Database.open(base.db)
    try:
        await set_paused(db, True, by="faults", at=datetime.now(UTC))  # what `ritm pause` does
        before_pause = set(mail.per_row()) & mass  # the pause is committed
        # A service notice planned during the pause still goes out, to everyone.
        notice = await plan_campaign(db, base.policy, "notice", priority="service", at=datetime.now(UTC))
    finally:
        await db.close()
    service = ids_of(base.db, "notice")
    assert notice == len(service) == MESSAGES
    service_sent = await poll(lambda: service <= set(mail.per_row()), 90)
    mass_after_pause = len(set(mail.per_row()) & mass - before_pause)

    code, said = await ritm_command(wiring, "resume", "--by", "faults")
    assert code == 0, said
    drained = await poll(lambda: sum(statuses(base.db)[s] for s in (*TO_DO, "sending")) == 0, 90)
    exit_code = await run.stop()
    final = statuses(base.db)
    figures = Figures("pause", uncertain=final["uncertain"] + final["sending"])
    figures.count(mail.per_row(), mass | service)
    figures.seconds = time.monotonic() - started
    figures.extra.update(mass_before_pause=len(before_pause), mass_after_pause=mass_after_pause)
    show(figures)

    assert service_sent, "the service notice did not go out during the pause"
    assert mass_after_pause <= SMTP_POOL_SIZE, f"{mass_after_pause} mass emails arrived after the pause"
    assert drained, f"the rest was not sent after the resume: {final}"
    assert exit_code == 0, run.output()[-3000:]
    assert figures.doubled == figures.lost == figures.uncertain == 0
