"""A Telegram server that allows far less than the configured rate (a 429 storm): nothing is lost or
doubled, and once the channel has adapted (after the first minute) at most 5 % of calls get a 429."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ritm.sandbox.telegram_api import TelegramStandin
from tests.faults.outbox_view import TO_DO, ids_of, statuses
from tests.faults.process import RitmRun, Wiring
from tests.faults.seed import seed
from tests.faults.tally import Figures, deliveries, poll
from tests.faults.world import Mailroom

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

CHATS = 130
SERVER_PER_S = 2.0  # what the server allows; `ritm run` is configured for its default, 25/s
SETTLE_S = 60.0  # the adaptation's allowance
MAX_429_SHARE = 0.05


async def test_telegram_429_storm(
    tmp_path: Path, mail: Mailroom, standin: TelegramStandin, show: Callable[[Figures], None]
) -> None:
    started = time.monotonic()
    standin.set_limits(per_bot_per_s=SERVER_PER_S)
    base = await seed(tmp_path, email=0, telegram=CHATS)
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port, telegram_url=standin.base_url)

    def calls() -> int:
        return standin.requests["sendMessage"]

    run = await RitmRun.start(wiring, "run")
    assert await poll(lambda: calls() > 0, 90), run.output()[-3000:]
    first_call = time.monotonic()
    finished_early = await poll(lambda: not any(statuses(base.db)[s] for s in (*TO_DO, "sending")), SETTLE_S)
    assert not finished_early, "the campaign went out within the first minute: too small to measure"
    calls_at, refused_at = calls(), standin.count_429
    drained = await poll(lambda: sum(statuses(base.db)[s] for s in (*TO_DO, "sending")) == 0, 240)
    calls_after, refused_after = calls() - calls_at, standin.count_429 - refused_at
    code = await run.stop()
    final = statuses(base.db)
    figures = Figures("telegram-429", uncertain=final["uncertain"] + final["sending"])
    figures.count(deliveries(base, mail, standin), ids_of(base.db, base.campaign))
    figures.count_429 = standin.count_429
    figures.seconds = time.monotonic() - started
    figures.extra.update(
        calls=calls(),
        calls_after_1min=calls_after,
        refused_after_1min=refused_after,
        sending_s=round(time.monotonic() - first_call, 1),
    )
    show(figures)

    assert drained, f"not everything went out: {final}"
    assert code == 0, run.output()[-3000:]
    assert figures.doubled == figures.lost == figures.uncertain == 0
    assert refused_after <= MAX_429_SHARE * calls_after, f"{refused_after} of {calls_after} calls got 429"
