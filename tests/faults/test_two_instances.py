"""A second `ritm run` on the same database refuses to start while the first holds the instance lease
(SPEC §12.2): exit 2, one sentence naming the holder — and no service message goes out twice."""

from __future__ import annotations

import socket
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

MESSAGES = 1000


async def test_second_instance_refuses_to_start(
    tmp_path: Path, mail: Mailroom, show: Callable[[Figures], None]
) -> None:
    started = time.monotonic()
    # Service messages: the ones a dispatcher re-sends when it believes their sender died.
    base = await seed(tmp_path, email=MESSAGES, priority="service")
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port, smtp_rate_per_s=50)
    first = await RitmRun.start(wiring, "first")
    assert await poll(lambda: mail.accepted() >= MESSAGES // 10, 90), first.output()[-3000:]
    second = await RitmRun.start(wiring, "second")
    refused = await poll(lambda: second.returncode is not None, 60)

    drained = await poll(lambda: sum(statuses(base.db)[s] for s in (*TO_DO, "sending")) == 0, 90)
    second_code = await second.stop()
    first_code = await first.stop()
    final = statuses(base.db)
    figures = Figures("two-instances", uncertain=final["uncertain"] + final["sending"])
    figures.count(deliveries(base, mail), ids_of(base.db, base.campaign))
    figures.seconds = time.monotonic() - started
    figures.extra.update(second_exit=second_code)
    show(figures)

    said = [line for line in second.output().splitlines() if line.startswith("error:")]
    assert refused and second_code == 2, second.output()[-3000:]
    assert len(said) == 1, second.output()[-3000:]
    assert str(first.pid) in said[0] or socket.gethostname() in said[0], f"the holder is not named: {said}"
    assert drained, f"the first instance did not finish: {final}"
    assert first_code == 0, first.output()[-3000:]
    assert figures.doubled == 0, "a service message went out twice"
    assert figures.lost == 0
