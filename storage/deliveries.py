"""Webhook deliveries already applied: a repeated delivery id (or the very same signed request)
within `DELIVERY_MEMORY` is answered as a duplicate and changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from storage.db import Connection

DELIVERY_MEMORY = timedelta(days=7)


async def claim_delivery(conn: Connection, keys: Sequence[str], *, now_s: int) -> bool:
    """Record `keys` as seen; False (and nothing recorded) when any was seen within the memory.

    Call inside the transaction that applies the delivery, so a delivery is claimed exactly when its
    changes commit. Older keys are pruned here, which keeps the table at a week of deliveries.
    """
    horizon = now_s - int(DELIVERY_MEMORY.total_seconds())
    await conn.execute("DELETE FROM webhook_deliveries WHERE received_at < ?", (horizon,))
    marks = ",".join("?" * len(keys))
    async with conn.execute(
        f"SELECT 1 FROM webhook_deliveries WHERE id IN ({marks}) LIMIT 1", tuple(keys)
    ) as cur:
        if await cur.fetchone() is not None:
            return False
    await conn.executemany(
        "INSERT INTO webhook_deliveries (id, received_at) VALUES (?, ?)", [(k, now_s) for k in keys]
    )
    return True
