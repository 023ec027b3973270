"""What rendering and sending need to know of a recipient: addresses and personalisation fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    email: str | None
    name: str
    telegram_chat_id: int | None
    phone: str | None
    timezone: str | None
    locale: str | None
    region: str | None
    interest: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    vk_id: int | None = None


async def load_recipients(db: Database, ids: Sequence[str]) -> dict[str, Recipient]:
    """The recipients among `ids` that exist, by id."""
    found: dict[str, Recipient] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        rows = await db.fetchall(
            "SELECT id, email, name, telegram_chat_id, phone, timezone, locale, region, interest, fields,"
            " vk_id"
            f" FROM contacts WHERE id IN ({','.join('?' * len(chunk))})",
            tuple(chunk),
        )
        for r in rows:
            found[r[0]] = Recipient(
                id=r[0],
                email=r[1],
                name=r[2] or "",
                telegram_chat_id=int(r[3]) if r[3] is not None else None,
                phone=r[4],
                timezone=r[5],
                locale=r[6],
                region=r[7],
                interest=r[8],
                fields=json.loads(r[9]) if r[9] else {},
                vk_id=int(r[10]) if r[10] is not None else None,
            )
    return found
