"""SIGTERM mid-send: `ritm run` finishes the sends in hand, records them and exits 0 — nothing uncertain."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.outbox_view import TO_DO, ids_of, statuses
from tests.faults.process import RitmRun, Wiring
from tests.faults.seed import seed
from tests.faults.tally import Figures, deliveries, poll
from tests.faults.world import Mailroom

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

MESSAGES = 600
GRACE_S = 20  # RITM_SHUTDOWN_GRACE_S's default


async def test_sigterm_mid_send(tmp_path: Path, mail: Mailroom, show: Callable[[Figures], None]) -> None:
    started = time.monotonic()
    base = await seed(tmp_path, email=MESSAGES)
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port)
    first = await RitmRun.start(wiring, "first")
    assert await poll(lambda: mail.accepted() >= MESSAGES // 6, 90), first.output()[-3000:]
    first.terminate()
    code = await first.wait(GRACE_S + 15)
    left = statuses(base.db)
    unsettled_at_stop = left["sending"] + left["uncertain"]

    second = await RitmRun.start(wiring, "second")
    assert await second.ready(), second.output()[-3000:]
    drained = await poll(lambda: sum(statuses(base.db)[s] for s in (*TO_DO, "sending")) == 0, 90)
    final_code = await second.stop()
    final = statuses(base.db)

    figures = Figures("sigterm", uncertain=final["uncertain"] + final["sending"])
    figures.count(deliveries(base, mail), ids_of(base.db, base.campaign))
    figures.seconds = time.monotonic() - started
    figures.extra.update(exit_code=code, unsettled_at_stop=unsettled_at_stop)
    show(figures)

    assert code == 0, first.output()[-3000:]
    assert unsettled_at_stop == 0, f"{unsettled_at_stop} rows left without an outcome by a SIGTERM"
    assert drained, f"the restarted process did not finish: {final}"
    assert final_code == 0, second.output()[-3000:]
    assert figures.doubled == 0
    assert figures.uncertain == 0
    assert figures.lost == 0
