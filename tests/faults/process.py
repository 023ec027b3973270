"""Real `ritm run` processes (and one-shot `ritm` commands) wired to the fault world by environment."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ritm.sandbox.telegram_api import DEFAULT_TOKEN
from tests.faults.tally import poll

SMTP_POOL_SIZE = 4  # the email channel's concurrency: connections with a message in hand
TELEGRAM_IN_FLIGHT = 8  # the Telegram channel's concurrency: calls in flight at once
# SPEC §12.2: at any instant at most the channels' concurrency of rows are `sending` without an outcome.
IN_FLIGHT_BOUND = SMTP_POOL_SIZE + TELEGRAM_IN_FLIGHT
TICK_S = "0.2"  # the worker's tick: short, so a scenario is not waiting on the schedule
READY = "ritm running"  # what `ritm run` logs once its signal handlers, HTTP and scheduler are up


@dataclass
class Wiring:
    """What every process of one scenario shares: the database, the policy, the servers, the secret."""

    workdir: Path
    db: Path
    policy: Path
    smtp_port: int
    telegram_url: str | None = None
    smtp_rate_per_s: float = 200.0
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self) -> dict[str, str]:
        # Settings a developer exported must not leak into the scenario.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RITM_")}
        env.update(
            RITM_DB=str(self.db),
            RITM_POLICY=str(self.policy),
            RITM_SMTP__PORT=str(self.smtp_port),
            RITM_SMTP__POOL_SIZE=str(SMTP_POOL_SIZE),
            RITM_SMTP__RATE_PER_S=str(self.smtp_rate_per_s),
            RITM_TELEGRAM__IN_FLIGHT=str(TELEGRAM_IN_FLIGHT),
            RITM_SECRET=self.secret,
            RITM_HTTP_PORT="0",  # any free port: two instances must meet at the database, not the port
        )
        if self.telegram_url is not None:
            env.update(RITM_BOT_TOKEN=DEFAULT_TOKEN, RITM_TELEGRAM_API_URL=self.telegram_url)
        return env


class RitmRun:
    """One `ritm run` process; its log goes to a file (a pipe nobody reads would block it)."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(cls, wiring: Wiring, name: str) -> RitmRun:
        log = wiring.workdir / f"{name}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ritm", "run", "--tick", TICK_S,
                cwd=wiring.workdir, env=wiring.env(), stdout=sink, stderr=sink,
            )  # fmt: skip
        return cls(process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def ready(self, timeout_s: float = 60.0) -> bool:
        """Wait until the process says it is running (False if it exited or took longer)."""
        await poll(lambda: READY in self.output() or self.process.returncode is not None, timeout_s)
        return READY in self.output()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout_s)

    async def stop(self, timeout_s: float = 40.0) -> int:
        """SIGTERM and wait for the exit (a process already gone just reports its code)."""
        if self.process.returncode is None:
            self.terminate()
        return await self.wait(timeout_s)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def ritm_command(wiring: Wiring, *args: str, timeout_s: float = 60.0) -> tuple[int, str]:
    """Run one `ritm …` command to its end; returns the exit code and what it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", *args,
        cwd=wiring.workdir, env=wiring.env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")
