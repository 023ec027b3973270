"""Holding the instance lease for the life of one `ritm run` (SPEC §12.2).

The lease is taken before anything starts, renewed by a heartbeat, and given up at a clean stop.
A second `ritm run` on the same database refuses to start (or, as a standby, waits until the lease
frees), so start-up recovery can safely treat every other holder's rows as abandoned.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from dispatcher.clock import Clock
from policy.timeutil import from_epoch, iso_utc, to_epoch
from storage.db import Database
from storage.instance_lease import EXPIRY_S, HEARTBEAT_S, Lease, acquire, heartbeat, release

log = logging.getLogger(__name__)


class LeaseHeld(RuntimeError):
    """Another live `ritm run` holds this database; the message names it in one sentence."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        super().__init__(
            f"another `ritm run` holds this database (host {lease.host}, pid {lease.pid}, since "
            f"{iso_utc(from_epoch(lease.since))}): stop it first (SIGTERM), or start this one with "
            "--standby to take over when its lease frees"
        )


@dataclass
class InstanceLease:
    """Our claim on the database as the one dispatching process."""

    db: Database
    holder: str
    clock: Clock
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    expiry_s: int = EXPIRY_S

    async def take(self, *, standby: bool = False, retry_s: float = HEARTBEAT_S) -> None:
        """Take the lease, or raise LeaseHeld; a standby retries every `retry_s` until it frees."""
        announced = False
        while True:
            taken = await acquire(
                self.db,
                holder=self.holder,
                host=self.host,
                pid=self.pid,
                now=to_epoch(self.clock()),
                expiry_s=self.expiry_s,
                gone=self._gone,
            )
            if taken.granted:
                log.info("instance lease taken", extra={"event": "lease_taken", "holder": self.holder})
                return
            if not standby:
                raise LeaseHeld(taken.lease)
            if not announced:
                held = taken.lease
                log.info(str(LeaseHeld(held)), extra={"event": "standby", "holder": held.holder})
                announced = True
            await asyncio.sleep(retry_s)  # a liveness poll of another process, not scheduling logic

    def _gone(self, lease: Lease) -> bool:
        """Whether the holder is provably dead: a process of this host whose pid no longer exists.

        Anything else (another host, a pid we may not signal, our own pid) stays alive until expiry.
        """
        if lease.host != self.host:
            return False
        try:
            os.kill(lease.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False

    async def renew(self) -> bool:
        now = to_epoch(self.clock())
        return await heartbeat(self.db, holder=self.holder, now=now, expiry_s=self.expiry_s)

    async def keep(self, on_lost: Callable[[], None], every_s: float = HEARTBEAT_S) -> None:
        """Heartbeat until cancelled; if the lease was taken over (we hung past its expiry), stop."""
        while True:
            await asyncio.sleep(every_s)
            try:
                alive = await self.renew()
            except Exception:  # a busy database: the next beat tries again, well within the expiry
                log.exception("heartbeat failed", extra={"event": "lease_heartbeat_error"})
                continue
            if not alive:
                extra = {"event": "lease_lost", "holder": self.holder}
                log.error("instance lease taken over by another process: stopping", extra=extra)
                on_lost()
                return

    async def give_up(self) -> None:
        await release(self.db, holder=self.holder)
        log.info("instance lease released", extra={"event": "lease_released", "holder": self.holder})
