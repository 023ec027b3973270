"""Reads beside writes in one process (SPEC §12.1): no read can break a write, nor a write a read.

Dry runs, segment counts, `/segment`, `/dryrun`, `/stats`, explain and stats run again and again while
worker ticks, follow-ups, the planner job and HTTP writes (unsubscribe POSTs, webhook events) run. The
writers touch only the contacts of one region; the readers ask only about the others, so every read
must equal the same call run alone before the writers start. Afterwards no row may be `uncertain`
(a tick that failed after claiming leaves its rows to expire into `uncertain` though none was sent).

The base is the synthetic one (`ritm demo-data`) imported with the CSV importer, built once per session
and copied per test. CI runs one round on a small base; the figures in the README come from the manual
run on 100 k contacts, 20 rounds:

    RITM_STRESS_CONTACTS=100000 RITM_STRESS_ROUNDS=20 pytest tests/e2e/test_read_write_concurrency.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import run_bot
from dispatcher.clock import ManualClock
from dispatcher.explain import explain_contact
from dispatcher.hooks import sign_hook
from dispatcher.planner import evaluate_campaign, summarise
from dispatcher.stats import campaign_stats
from policy.config import Policy, QuietHours
from policy.timeutil import iso_utc, to_epoch
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.services import link_signer
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database
from storage.importer import import_csv
from storage.segments import SegmentContext
from storage.team import add_member
from tests.e2e.people import campaign_toml
from tests.secret_support import TEST_SECRET

CONTACTS = int(os.environ.get("RITM_STRESS_CONTACTS", "3000"))
ROUNDS = int(os.environ.get("RITM_STRESS_ROUNDS", "1"))
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # noon in Moscow
WRITTEN = "Москва"  # the writers' region
SENT_BEFORE = "Казань"  # a campaign already sent there gives /stats something to count
AUTHOR, APPROVER, OPERATOR = 101, 202, 404  # the operator asks; approval cards go to the approvers
# A telegram text for the version, then a step for those who did not open the email.
CASCADE = """telegram = "Напоминание"
[[cascade]]
channel = "telegram"
after = "12h"
unless = "event:open within 1d"
"""
READ_SEGMENTS = (
    f'NOT region = "{WRITTEN}"',
    f'rfm:champions AND NOT region = "{WRITTEN}"',
    f'has:email AND NOT region = "{WRITTEN}" AND paid_total < 5000',
    f'r >= 4 AND region = "{SENT_BEFORE}"',
)


@pytest.fixture(scope="session")
def stress_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The imported synthetic base, checkpointed into one file; tests work on copies."""
    folder = tmp_path_factory.mktemp("stress")
    path = folder / "base.db"

    async def build() -> None:
        write_demo_base(folder / "csv", CONTACTS, 7, DEFAULT_ANCHOR)
        policy = load_policy(None)
        db = await Database.open(path)
        try:
            for kind in ("contacts", "orders", "events"):
                await import_csv(db, kind, folder / "csv" / f"{kind}.csv", policy, now=START)
            await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await db.close()

    asyncio.run(build())
    return path


def stress_policy() -> Policy:
    """No quiet hours and no caps: the worker sends at every tick, the readers' answers stay put."""
    return load_policy(None).model_copy(
        update={
            "quiet_hours": QuietHours.model_validate({"from": "00:00", "to": "00:00"}),
            "caps": [],
            "segment_caps": {},
        }
    )


@dataclass
class Stress:
    app: App
    standin: TelegramStandin
    errors: list[logging.LogRecord] = field(default_factory=list)
    _chat: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def say(self, text: str) -> list[str]:
        """The bot's replies to `text` from the operator; one command at a time, so that replies to
        different commands cannot interleave in the chat (the bot runs beside everything else)."""
        async with self._chat:
            before = len(self.standin.sent(OPERATOR))
            self.standin.user_message(OPERATOR, text, language_code="en")
            await self.standin.wait_until_consumed(timeout_s=60)
            return [m.text or "" for m in self.standin.sent(OPERATOR)[before:]]


class _Errors(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture
async def stress(stress_base: Path, tmp_path: Path) -> AsyncIterator[Stress]:
    shutil.copyfile(stress_base, tmp_path / "ritm.db")
    clock = ManualClock(START)
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        standin.set_limits(enabled=False)
        app = await loopback_app(
            stress_policy(),
            clock,
            smtp,
            standin,
            db=tmp_path / "ritm.db",
            public_url="https://ritm.school.example",
            secret=TEST_SECRET,
        )
        await add_member(app.db, AUTHOR, "approver", by="test", at=START)
        await add_member(app.db, APPROVER, "approver", by="test", at=START)
        await add_member(app.db, OPERATOR, "operator", by="test", at=START)
        errors: list[logging.LogRecord] = []
        handler = _Errors(errors)
        for name in ("bot", "aiogram", "dispatcher"):
            logging.getLogger(name).addHandler(handler)
        stop = asyncio.Event()
        polling = asyncio.create_task(run_bot(app, stop, handle_as_tasks=False))
        await standin.wait_for(lambda: standin.requests["getUpdates"] > 0)
        try:
            yield Stress(app, standin, errors)
        finally:
            stop.set()
            await polling
            for name in ("bot", "aiogram", "dispatcher"):
                logging.getLogger(name).removeHandler(handler)
            await app.close()


async def add_campaign(
    app: App, campaign_id: str, audience: str, *, approve: bool, cascade: bool = False
) -> None:
    quoted = audience.replace('"', '\\"')  # inside a TOML string
    text = campaign_toml(campaign_id, start=START, deadline=START + timedelta(days=3), audience=quoted)
    if cascade:
        text += CASCADE
    await app.service.add(text, f"{campaign_id}.toml", by=str(AUTHOR), at=START)
    if approve:
        await app.service.dry_run(campaign_id, at=START, by=str(AUTHOR))
        await app.service.approve(campaign_id, by=str(APPROVER), at=START)


async def written_ids(app: App) -> list[str]:
    """Contacts of the writers' region that the HTTP writes touch (a few hundred at most)."""
    rows = await app.db.fetchall(
        "SELECT id FROM contacts WHERE region = ? AND email != '' ORDER BY id LIMIT 300", (WRITTEN,)
    )
    return [str(r[0]) for r in rows]


def reads(s: Stress, explained: list[str]) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every read-side call, by name; each answers only about contacts the writers never touch."""
    app = s.app

    async def dry_run() -> object:
        return summarise(
            await evaluate_campaign(app.db, (await app.service.load("reader"))[1], app.policy, START)
        )

    async def counts() -> object:
        async with SegmentContext(app.db, app.policy, START) as ctx:
            return [await ctx.count(text) for text in READ_SEGMENTS]

    async def listed() -> object:
        async with SegmentContext(app.db, app.policy, START) as ctx:
            return await ctx.list(READ_SEGMENTS[1], limit=50)

    async def explain() -> object:
        return [await explain_contact(app.db, app.policy, cid, START, "reader") for cid in explained]

    async def stats() -> object:
        return await campaign_stats(app.reports, "sent-before", START)

    async def segment_command() -> object:
        return await s.say(f"/segment {READ_SEGMENTS[2]}")

    async def dryrun_command() -> object:
        return await s.say("/dryrun reader")

    async def stats_command() -> object:
        return await s.say("/stats sent-before")

    return {
        "dry run": dry_run,
        "segment counts": counts,
        "segment list": listed,
        "explain": explain,
        "stats": stats,
        "/segment": segment_command,
        "/dryrun": dryrun_command,
        "/stats": stats_command,
    }


async def post_hook(client: TestClient, payload: object) -> int:
    body = json.dumps(payload).encode()
    stamp = to_epoch(START)
    headers = {
        "X-Ritm-Timestamp": str(stamp),
        "X-Ritm-Signature": sign_hook(TEST_SECRET, body, stamp),
        "X-Ritm-Delivery": uuid.uuid4().hex,
    }
    response = await client.post("/hooks/events", data=body, headers=headers)
    return response.status


async def writers(app: App, ids: list[str]) -> dict[str, int]:
    """Worker ticks, follow-ups, the planner job and HTTP writes, all at once; returns what they did."""
    done: dict[str, int] = {"ticks": 0, "followups": 0, "planned": 0, "unsubscribed": 0, "hooks": 0}
    half = len(ids) // 2

    http_done = asyncio.Event()

    async def ticks() -> None:
        """A tick a minute, until the HTTP writes are over and nothing is left to claim."""
        now = START
        while True:
            now += timedelta(minutes=1)
            report = await app.dispatch(now)
            done["ticks"] += 1
            if not report.claimed and done["planned"] == 2 and http_done.is_set():
                return

    async def followups() -> None:
        for _ in range(10):
            await app.follow_up(START + timedelta(hours=13))
            done["followups"] += 1
            await asyncio.sleep(0)

    async def planner() -> None:
        for _ in range(3):
            done["planned"] += len(await app.plan_due(START))

    async def http() -> None:
        try:
            await http_writes()
        finally:
            http_done.set()

    async def http_writes() -> None:
        signer = link_signer(app.settings)
        async with TestClient(TestServer(app.http)) as client:
            for cid in ids[:half]:
                path = urlsplit(signer.unsubscribe_url(cid, "email")).path
                response = await client.post(path)
                assert response.status == 200, await response.text()
                done["unsubscribed"] += 1
            for k, cid in enumerate(ids[half:]):
                payload = {
                    "orders": [
                        {
                            "id": f"stress-{k}",
                            "contact_id": cid,
                            "amount": 4900,
                            "status": "paid",
                            "created_at": iso_utc(START),
                            "paid_at": iso_utc(START),
                        }
                    ],
                    "events": [{"contact_id": cid, "type": "open", "at": iso_utc(START)}],
                }
                assert await post_hook(client, payload) == 200
                done["hooks"] += 1

    await asyncio.gather(ticks(), followups(), planner(), http())
    return done


@pytest.mark.timeout(max(120, CONTACTS // 200))  # a dry run of 100 k takes seconds on a busy machine
@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_reads_beside_writes_equal_the_same_reads_alone(stress: Stress, round_: int) -> None:
    app = stress.app
    await add_campaign(app, "sent-before", f'region = "{SENT_BEFORE}"', approve=True)
    await app.service.plan("sent-before", at=START)
    while (await app.dispatch(START)).claimed:
        pass
    await add_campaign(app, "reader", f'NOT region = "{WRITTEN}"', approve=False)
    await add_campaign(app, "sender", f'region = "{WRITTEN}"', approve=True, cascade=True)
    await app.service.plan("sender", at=START)
    for planned_by_the_job in ("job-1", "job-2"):
        await add_campaign(app, planned_by_the_job, f'region = "{WRITTEN}"', approve=True)
    explained = [
        str(r[0])
        for r in await app.db.fetchall(
            "SELECT id FROM contacts WHERE region != ? ORDER BY id LIMIT 3", (WRITTEN,)
        )
    ]
    calls = reads(stress, explained)
    alone = {name: await call() for name, call in calls.items()}
    assert alone["segment counts"] != [0, 0, 0, 0] and alone["stats"]
    ids = await written_ids(app)
    assert len(ids) >= 10, "the writers need contacts of their own"

    finished = asyncio.Event()
    checked: dict[str, int] = dict.fromkeys(calls, 0)

    async def reader(name: str, call: Callable[[], Awaitable[object]]) -> None:
        while not finished.is_set() or checked[name] == 0:
            assert await call() == alone[name], f"{name} beside the writers differs from {name} alone"
            checked[name] += 1

    async def write_then_finish() -> dict[str, int]:
        try:
            return await writers(app, ids)
        finally:
            finished.set()

    done, *_ = await asyncio.gather(write_then_finish(), *(reader(n, c) for n, c in calls.items()))
    assert done["planned"] == 2 and done["unsubscribed"] + done["hooks"] == len(ids), done
    assert all(checked.values()), checked

    later = START + timedelta(days=1)  # every lease has run out: rows a failed tick claimed expire now
    await app.dispatch(later)
    statuses = {
        str(r[0]): int(r[1])
        for r in await app.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    }
    assert statuses.get("uncertain", 0) == 0, statuses
    assert statuses.get("sent", 0) > 0, statuses
    assert not stress.errors, [r.getMessage() for r in stress.errors]
    print(f"round {round_}: {done}; reads checked {checked}")
