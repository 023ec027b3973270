"""The dashboard's sign-in rows: one-time login links (single use, short expiry) and sessions.

A session id never rests in the database: only its SHA-256, so a copy of the file opens no session.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from policy.timeutil import to_epoch
from storage.audit import audit
from storage.db import Database


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


async def new_login(db: Database, nonce: str, user_id: int, now: datetime, ttl: timedelta) -> None:
    """Record a login link handed to `user_id` (by the bot's /web); audited."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO web_logins (nonce, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (nonce, user_id, to_epoch(now), to_epoch(now + ttl)),
        )
        # Links nobody used are of no further interest once expired.
        await conn.execute("DELETE FROM web_logins WHERE expires_at < ?", (to_epoch(now) - 86400,))
        await audit(conn, at=now, actor=str(user_id), action="web.link", target=str(user_id), source="bot")


async def use_login(db: Database, nonce: str, now: datetime) -> int | None:
    """Spend a login link: the user id when it was unused and unexpired, else None (and nothing changes)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE web_logins SET used_at = ? WHERE nonce = ? AND used_at IS NULL AND expires_at > ?"
            " RETURNING user_id",
            (to_epoch(now), nonce, to_epoch(now)),
        )
        row = await cur.fetchone()
        await cur.close()
    return None if row is None else int(row[0])


async def open_session(
    db: Database, session_id: str, user_id: int, now: datetime, ttl: timedelta, *, address: str
) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (to_epoch(now),))
        await conn.execute(
            "INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (session_hash(session_id), user_id, to_epoch(now), to_epoch(now + ttl)),
        )
        await audit(
            conn,
            at=now,
            actor=str(user_id),
            action="web.sign_in",
            target=str(user_id),
            source="web",
            details={"address": address},
        )


async def session_user(db: Database, session_id: str, now: datetime) -> int | None:
    """The user of a live session, else None."""
    value = await db.scalar(
        "SELECT user_id FROM web_sessions WHERE id_hash = ? AND expires_at > ?",
        (session_hash(session_id), to_epoch(now)),
    )
    return None if value is None else int(str(value))


async def close_session(db: Database, session_id: str, now: datetime) -> None:
    async with db.transaction() as conn:
        cur = await conn.execute(
            "DELETE FROM web_sessions WHERE id_hash = ? RETURNING user_id", (session_hash(session_id),)
        )
        row = await cur.fetchone()
        await cur.close()
        if row is not None:
            await audit(
                conn, at=now, actor=str(row[0]), action="web.sign_out", target=str(row[0]), source="web"
            )
