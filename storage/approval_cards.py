"""The approval cards the bot sent (migration 0004): one row per card, so a decision edits them all.

A card row is written before its message is sent (its id goes into the buttons' callback data, which
Telegram limits to 64 bytes — campaign ids may be longer) and gets its message id once sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policy.timeutil import to_epoch
from storage.db import Database


@dataclass(frozen=True)
class Card:
    id: int
    campaign_id: str
    chat_id: int
    message_id: int | None
    locale: str
    fingerprint: str
    closed: bool


_COLUMNS = "id, campaign_id, chat_id, message_id, locale, fingerprint, closed_at IS NOT NULL"


def _card(row: tuple[object, ...]) -> Card:
    return Card(
        int(row[0]),  # type: ignore[call-overload]
        str(row[1]),
        int(row[2]),  # type: ignore[call-overload]
        None if row[3] is None else int(row[3]),  # type: ignore[call-overload]
        str(row[4]),
        str(row[5]),
        bool(row[6]),
    )


async def new_card(
    db: Database, campaign_id: str, chat_id: int, locale: str, fingerprint: str, at: datetime
) -> int:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO approval_cards (campaign_id, chat_id, locale, fingerprint, sent_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (campaign_id, chat_id, locale, fingerprint, to_epoch(at)),
        )
        return int(cur.lastrowid or 0)


async def card_sent(db: Database, card_id: int, message_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE approval_cards SET message_id = ? WHERE id = ?", (message_id, card_id))


async def drop_card(db: Database, card_id: int) -> None:
    """A card whose message could not be sent (the member never opened the bot)."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM approval_cards WHERE id = ?", (card_id,))


async def get_card(db: Database, card_id: int) -> Card | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM approval_cards WHERE id = ?", (card_id,))
    return None if row is None else _card(tuple(row))


async def open_cards(db: Database, campaign_id: str) -> list[Card]:
    """Sent cards of a campaign that still show their buttons."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM approval_cards WHERE campaign_id = ? AND closed_at IS NULL"
        " AND message_id IS NOT NULL ORDER BY id",
        (campaign_id,),
    )
    return [_card(tuple(r)) for r in rows]


async def close_cards(db: Database, card_ids: list[int], at: datetime) -> None:
    if not card_ids:
        return
    marks = ",".join("?" * len(card_ids))
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE approval_cards SET closed_at = ? WHERE id IN ({marks})", (to_epoch(at), *card_ids)
        )
