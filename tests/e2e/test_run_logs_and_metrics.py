"""`ritm run --log-format json` as an engineer sees it: a start-up line saying what runs where, one line
per meaningful event (a failure names contact, channel and reason), nothing per idle tick, and
`/healthz` and `/metrics` (Prometheus text) on its HTTP address. A real process on the real clock,
the real SMTP sandbox (`policy-block…` recipients get 550 5.7.1)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.services import campaign_service
from ritm.settings import Settings
from storage.db import Database
from storage.history import campaign_outcomes
from storage.team import add_member
from tests.e2e.people import add_contacts, calm_policy, campaign_toml
from tests.e2e.test_crash_restart import wait_for
from tests.secret_support import TEST_SECRET

GOOD = [f"m{i:02d}" for i in range(6)]
REFUSED = "policy-block7"


async def prepare(db_path: Path, policy_path: Path) -> None:
    from ritm.policy_file import load_policy

    policy = load_policy(policy_path)
    now = datetime.now(UTC).replace(microsecond=0)
    db = await Database.open(db_path)
    try:
        await add_contacts(db, [*GOOD, REFUSED], at=now)
        await add_member(db, 1, "approver", by="test", at=now)
        await add_member(db, 2, "approver", by="test", at=now)
        service = campaign_service(db, policy, Settings(db=db_path))
        text = campaign_toml("logs-1", start=now - timedelta(minutes=1), deadline=now + timedelta(days=1))
        await service.add(text, "logs-1.toml", by="1", at=now)
        await service.dry_run("logs-1", at=now, by="1")
        await service.approve("logs-1", by="2", at=now)
        await service.plan("logs-1", at=now, by="1")
    finally:
        await db.close()


async def settled(db_path: Path) -> bool:
    db = await Database.open(db_path, migrate=False)
    try:
        counts = (await campaign_outcomes(db)).get("logs-1")
    finally:
        await db.close()
    return counts is not None and counts.count("sent", "failed") == len(GOOD) + 1


async def test_start_line_events_and_metrics(tmp_path: Path) -> None:
    db_path, policy_path = tmp_path / "ritm.db", calm_policy(tmp_path / "policy.toml")
    await prepare(db_path, policy_path)
    async with CapturingSmtpServer() as smtp:
        env = {
            **os.environ,
            "RITM_DB": str(db_path),
            "RITM_POLICY": str(policy_path),
            "RITM_SMTP__PORT": str(smtp.port),
            "RITM_HTTP_PORT": "0",
            "RITM_SECRET": TEST_SECRET,
            "RITM_PUBLIC_URL": "https://ritm.school.example",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ritm", "run", "--tick", "0.1", "--log-format", "json",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        lines: list[dict[str, object]] = []
        while not any(line.get("event") == "start" for line in lines):
            raw = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert raw, "ritm run ended before its start-up line"
            lines.append(json.loads(raw))
        start = lines[-1]
        assert start["version"] and start["db"] == str(db_path) and start["policy"] == str(policy_path)
        assert start["smtp"] == f"127.0.0.1:{smtp.port} (none)" and start["bot"] == "off"
        assert start["public_url"] == "https://ritm.school.example"
        http = str(start["http"])
        assert http.startswith("http://127.0.0.1:") and not http.endswith(":0")
        assert start["loop"] == "uvloop"  # what the figures in the README's Performance table ran on
        for key in ("version", "db", "policy", "http", "smtp", "bot", "public_url", "loop"):
            assert str(start[key]) in str(start["msg"])

        await wait_for(lambda: settled(db_path), 60)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{http}/healthz") as response:
                assert response.status == 200 and (await response.json())["ok"] is True

            async def scrape() -> str:
                async with session.get(f"{http}/metrics") as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"].startswith("text/plain")
                    return await response.text()

            async def tick_counted() -> bool:  # the rows settle before the tick that sent them returns
                return 'result="failed"} 1' in await scrape()

            await wait_for(tick_counted, 30)
            metrics = await scrape()
        await asyncio.sleep(1.0)  # ten idle ticks at --tick 0.1: they must add no line
        proc.send_signal(signal.SIGTERM)
        _, rest = await proc.communicate()
        lines += [json.loads(raw) for raw in rest.splitlines() if raw.strip()]
        assert proc.returncode == 0

    assert 'ritm_outbox_messages{status="sent"} 6' in metrics
    assert 'ritm_outbox_messages{status="failed"} 1' in metrics
    assert 'ritm_outbox_messages{status="planned"} 0' in metrics
    assert 'ritm_sends_total{channel="email",result="sent"} 6' in metrics
    assert 'ritm_sends_total{channel="email",result="failed"} 1' in metrics
    assert "# TYPE ritm_tick_duration_seconds histogram" in metrics
    count = next(ln for ln in metrics.splitlines() if ln.startswith("ritm_tick_duration_seconds_count"))
    assert int(count.split()[1]) >= 1

    [failure] = [line for line in lines if line.get("event") == "send_failed"]
    assert (failure["contact"], failure["channel"], failure["campaign"]) == (REFUSED, "email", "logs-1")
    assert "5.7.1" in str(failure["detail"]) and REFUSED in str(failure["msg"])
    assert not [line for line in lines if "Running job" in str(line.get("msg"))]
    # Seven messages in a handful of ticks, then at least ten idle ticks: none of those wrote a line.
    ticks = [line for line in lines if line.get("event") == "tick"]
    assert 1 <= len(ticks) <= 7 and all(int(str(t["claimed"])) > 0 for t in ticks)
    assert all(line.get("event") for line in lines), [line for line in lines if not line.get("event")]
