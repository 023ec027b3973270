"""The SMTP server goes down for a minute mid-send (connections refused, open sessions cut) and comes
back on the same port: nothing is lost or doubled, and every retry that falls after its return sends.

A row whose first retry (a minute after its failure) still fell inside the outage waits for the next
step of the backoff (5 min); the test does not wait that long — it checks such rows are scheduled,
not given up on, and prints how many there were (`next_step`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from policy.retry import BACKOFF
from tests.faults.outbox_view import ids_of, ids_with, retry_due, statuses
from tests.faults.process import RitmRun, Wiring
from tests.faults.seed import seed
from tests.faults.tally import Figures, poll
from tests.faults.world import Mailroom

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

MESSAGES = 400
OUTAGE_S = 60.0
FIRST_STEP_S = BACKOFF[0].total_seconds()
BACK_WITHIN_S = FIRST_STEP_S + 30  # every first retry falls within a step of the return


async def test_smtp_down_for_a_minute(
    tmp_path: Path, mail: Mailroom, show: Callable[[Figures], None]
) -> None:
    started = time.monotonic()
    base = await seed(tmp_path, email=MESSAGES)
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port, smtp_rate_per_s=100)
    run = await RitmRun.start(wiring, "run")
    assert await poll(lambda: mail.accepted() >= MESSAGES // 8, 90), run.output()[-3000:]
    await mail.down()
    at_outage = mail.accepted()
    await asyncio.sleep(OUTAGE_S)  # the fault lasts this long on the wall clock `ritm run` lives on
    retry_at_return = statuses(base.db)["retry"]
    await mail.up()
    back = time.monotonic()
    back_epoch = time.time()

    def settled() -> bool:
        # Every row is sent, or failed twice inside the outage and waits for a later backoff step:
        # a first retry is due at most one step after a failure, so by then it has been tried again.
        counts = statuses(base.db)
        later = back_epoch + FIRST_STEP_S
        return counts["planned"] + counts["sending"] == 0 and all(d > later for d in retry_due(base.db))

    drained = await poll(settled, BACK_WITHIN_S)
    back_s = time.monotonic() - back
    code = await run.stop()
    final = statuses(base.db)
    figures = Figures("smtp-down", uncertain=final["uncertain"] + final["sending"])
    rows = ids_of(base.db, base.campaign)
    waiting = ids_with(base.db, "retry")
    figures.count(mail.per_row(), rows - waiting)
    figures.seconds = time.monotonic() - started
    figures.extra.update(
        before_outage=at_outage,
        retry_at_return=retry_at_return,
        next_step=len(waiting),
        drained_after_s=round(back_s, 1),
    )
    show(figures)

    assert drained, f"not everything went out within {BACK_WITHIN_S:.0f} s of the server's return: {final}"
    assert code == 0, run.output()[-3000:]
    assert figures.doubled == figures.lost == figures.uncertain == 0
    assert final["sent"] + final["retry"] == MESSAGES, f"rows given up on: {final}"
    assert not set(mail.per_row()) & waiting, "a row waiting for a retry had already arrived"
