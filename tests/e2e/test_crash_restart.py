"""Kill `ritm run` with SIGKILL mid-dispatch, start it again: no mass email twice, none lost silently.

The process is real (a subprocess on the real clock) and so is the SMTP server it talks to; what
arrived is read from the server, what the outbox says is read from the SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.services import campaign_service
from ritm.settings import Settings
from storage.db import Database
from storage.team import add_member
from tests.e2e.people import add_contacts, calm_policy, campaign_toml
from tests.secret_support import TEST_SECRET

CONTACTS = 240


async def prepare(db_path: Path, policy_path: Path) -> None:
    from ritm.policy_file import load_policy

    policy = load_policy(policy_path)
    now = datetime.now(UTC).replace(microsecond=0)
    db = await Database.open(db_path)
    try:
        await add_contacts(db, [f"k{i:04d}" for i in range(CONTACTS)], at=now)
        await add_member(db, 1, "approver", by="test", at=now)
        await add_member(db, 2, "approver", by="test", at=now)
        service = campaign_service(db, policy, Settings(db=db_path))
        text = campaign_toml("crash-1", start=now - timedelta(minutes=1), deadline=now + timedelta(days=1))
        await service.add(text, "crash-1.toml", by="1", at=now)
        await service.dry_run("crash-1", at=now, by="1")
        await service.approve("crash-1", by="2", at=now)
        result = await service.plan("crash-1", at=now, by="1")
        assert result.inserted == CONTACTS
    finally:
        await db.close()


async def start_run(db_path: Path, policy_path: Path, smtp_port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "RITM_DB": str(db_path),
        "RITM_POLICY": str(policy_path),
        "RITM_SMTP__PORT": str(smtp_port),
        "RITM_SMTP__RATE_PER_S": "40",
        "RITM_SMTP__POOL_SIZE": "2",
        "RITM_HTTP_PORT": "0",
        "RITM_SECRET": TEST_SECRET,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", "run", "--tick", "0.2",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def statuses(db_path: Path) -> Counter[str]:
    db = await Database.open(db_path, migrate=False)
    try:
        rows = await db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    finally:
        await db.close()
    return Counter({r[0]: int(r[1]) for r in rows})


async def wait_for(condition, timeout_s: float):  # type: ignore[no-untyped-def]
    """Poll a real process's effects (this is I/O we wait on, not scheduling logic we fake)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_sigkill_mid_dispatch_then_restart(tmp_path: Path) -> None:
    db_path, policy_path = tmp_path / "ritm.db", calm_policy(tmp_path / "policy.toml")
    await prepare(db_path, policy_path)
    async with CapturingSmtpServer() as smtp:
        first = await start_run(db_path, policy_path, smtp.port)

        async def some_arrived() -> bool:
            return smtp.accepted >= CONTACTS // 4

        await wait_for(some_arrived, 60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = await statuses(db_path)
        assert at_kill["planned"] > 0, "the kill should land mid-dispatch"

        second = await start_run(db_path, policy_path, smtp.port)

        async def drained() -> bool:
            s = await statuses(db_path)
            return s["planned"] + s["retry"] + s["sending"] == 0

        await wait_for(drained, 60)
        second.send_signal(signal.SIGTERM)
        _, err = await second.communicate()
        assert second.returncode == 0, err.decode()[-2000:]

    final = await statuses(db_path)
    received = Counter(m.rcpt_tos[0] for m in smtp.messages)
    assert max(received.values()) == 1, "a mass email arrived twice"
    assert final["sent"] + final["uncertain"] == CONTACTS
    # Only rows in flight at the kill are uncertain, never re-sent; the rest all arrived.
    assert final["uncertain"] == at_kill["sending"]
    assert len(received) >= final["sent"]
    assert CONTACTS - len(received) <= final["uncertain"]
