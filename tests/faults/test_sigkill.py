"""SIGKILL at random points, ten times, then a clean run to the end (SPEC §12.2).

After each kill at most the channels' concurrency of rows are left without an outcome; they end
`uncertain` and are never sent again. Every other row arrives exactly once after the restarts, and
every answer received before a kill is recorded — a Telegram 403 revokes the contact's consent.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ritm.sandbox.telegram_api import TelegramStandin
from tests.faults.outbox_view import TO_DO, ids_with, revoked, row_of_contact, row_status, statuses
from tests.faults.process import IN_FLIGHT_BOUND, RitmRun, Wiring
from tests.faults.seed import seed
from tests.faults.tally import Figures, deliveries, poll
from tests.faults.world import Mailroom

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]

EMAILS, CHATS, BLOCKED = 900, 100, 10
ROUNDS = 10
# The kill points are random; the seed is printed with the figures, and RITM_FAULTS_SEED replays it.
SEED = int(os.environ.get("RITM_FAULTS_SEED", "20261201"))


async def test_sigkill_ten_times_then_drain(
    tmp_path: Path, mail: Mailroom, standin: TelegramStandin, show: Callable[[Figures], None]
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    base = await seed(tmp_path, email=EMAILS, telegram=CHATS)
    blocked_chats = rng.sample(sorted(base.chats), BLOCKED)
    for chat in blocked_chats:
        standin.block(chat)
    blocked_rows = {row_of_contact(base.db, base.campaign)[base.chats[c]] for c in blocked_chats}
    wiring = Wiring(tmp_path, base.db, base.policy, mail.port, telegram_url=standin.base_url)

    def arrived() -> int:
        return mail.accepted() + len(standin.all_sent())

    def nothing_due() -> bool:
        return sum(statuses(base.db)[s] for s in TO_DO) == 0

    in_flight_at_kill: list[int] = []
    startups: list[float] = []
    unsettled: set[int] = set()  # rows a killed process left without an outcome
    for round_no in range(ROUNDS):
        launched = time.monotonic()
        run = await RitmRun.start(wiring, f"round-{round_no}")
        assert await run.ready(), run.output()[-3000:]
        startups.append(time.monotonic() - launched)
        before, wanted = arrived(), rng.randrange(1, 80)
        await poll(lambda: arrived() - before >= wanted or nothing_due(), 90)  # noqa: B023
        await asyncio.sleep(rng.uniform(0.0, 0.3))  # a random instant, not a schedule
        run.kill()
        await run.wait(15)
        left = ids_with(base.db, "sending")
        in_flight_at_kill.append(len(left - unsettled))
        unsettled |= left

    last = await RitmRun.start(wiring, "last")
    assert await last.ready(), last.output()[-3000:]
    # Done when nothing is due and nothing is in flight but what the killed processes left behind.
    drained = await poll(lambda: nothing_due() and ids_with(base.db, "sending") <= unsettled, 120)
    code = await last.stop()

    final, status = statuses(base.db), row_status(base.db)
    arrivals = deliveries(base, mail, standin)
    figures = Figures("sigkill", uncertain=final["uncertain"] + final["sending"])
    figures.count(arrivals, set(status) - blocked_rows)
    figures.seconds = time.monotonic() - started
    figures.extra.update(
        kills=ROUNDS,
        startup_s=round(sorted(startups)[ROUNDS // 2], 1),
        max_in_flight=max(in_flight_at_kill),
        in_flight=sum(in_flight_at_kill),
        seed=SEED,
    )
    show(figures)

    assert drained, f"the last run did not finish: {final}"
    assert code == 0, last.output()[-3000:]
    assert figures.doubled == 0, "a message arrived twice"
    assert max(in_flight_at_kill) <= IN_FLIGHT_BOUND, f"rows without an outcome per kill: {in_flight_at_kill}"
    never_arrived = {r for r in status if arrivals[r] == 0} - blocked_rows
    assert never_arrived <= unsettled, "a row never handed to a channel was not sent after the restarts"
    assert {r for r, s in status.items() if s != "sent"} - blocked_rows <= unsettled
    # A 403 answered before a kill is on record: the row failed and the consent is revoked.
    revoked_contacts = revoked(base.db, "telegram")
    for chat in blocked_chats:
        row = row_of_contact(base.db, base.campaign)[base.chats[chat]]
        assert row in unsettled or (status[row] == "failed" and base.chats[chat] in revoked_contacts)
