"""The team: Telegram user ids and their roles (viewer < operator < approver < admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policy.team import ROLES, TeamError, at_least, canonical_user, parse_user_id, role_rank
from policy.timeutil import to_epoch
from storage.audit import audit
from storage.db import Database

__all__ = [
    "ROLES",
    "Member",
    "TeamError",
    "acting_member",
    "add_member",
    "at_least",
    "canonical_user",
    "get_member",
    "list_members",
    "parse_user_id",
    "remove_member",
    "role_rank",
    "set_member_locale",
]


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str
    name: str | None
    locale: str | None


async def add_member(
    db: Database,
    user_id: int,
    role: str,
    *,
    by: str,
    at: datetime,
    name: str | None = None,
    source: str = "cli",
) -> Member:
    """Add a member or change their role; audited."""
    if role not in ROLES:
        raise TeamError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO team (user_id, role, name, added_at, added_by) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET role = excluded.role, name = COALESCE(excluded.name, name)",
            (user_id, role, name, to_epoch(at), by),
        )
        await audit(
            conn,
            at=at,
            actor=by,
            action="team.add",
            target=str(user_id),
            source=source,
            details={"role": role},
        )
    member = await get_member(db, user_id)
    assert member is not None
    return member


async def remove_member(db: Database, user_id: int, *, by: str, at: datetime, source: str = "cli") -> bool:
    async with db.transaction() as conn:
        cur = await conn.execute("DELETE FROM team WHERE user_id = ?", (user_id,))
        removed = cur.rowcount > 0
        await audit(
            conn,
            at=at,
            actor=by,
            action="team.remove",
            target=str(user_id),
            source=source,
            details={"removed": removed},
        )
    return removed


async def get_member(db: Database, user_id: int) -> Member | None:
    row = await db.fetchone("SELECT user_id, role, name, locale FROM team WHERE user_id = ?", (user_id,))
    return Member(int(row[0]), row[1], row[2], row[3]) if row else None


async def acting_member(db: Database, user: str, needed: str, action: str) -> str:
    """`user`'s canonical id when they are a team member with at least the `needed` role, else TeamError.

    `action` completes the refusal: "user 4 is viewer; {action} needs the operator role".
    """
    canonical = canonical_user(user)
    member = await get_member(db, int(canonical))
    if member is None:
        raise TeamError(f"user {canonical} is not in the team")
    if not at_least(member.role, needed):
        raise TeamError(f"user {canonical} is {member.role}; {action} needs the {needed} role")
    return canonical


async def list_members(db: Database) -> list[Member]:
    rows = await db.fetchall("SELECT user_id, role, name, locale FROM team ORDER BY user_id")
    return [Member(int(r[0]), r[1], r[2], r[3]) for r in rows]


async def set_member_locale(db: Database, user_id: int, locale: str) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE team SET locale = ? WHERE user_id = ?", (locale, user_id))
