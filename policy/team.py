"""Team members are Telegram users: integer ids and roles (viewer < operator < approver < admin).

Ids are compared as integers, so `02`, ` 2` and `+2` all name user 2 and the four-eyes rule cannot be
side-stepped by spelling the author's id differently. Only ASCII digits count: `int()` would also read
`٢` or `２` as 2, which is exactly the kind of look-alike an id must not accept.
"""

from __future__ import annotations

import re

ROLES = ("viewer", "operator", "approver", "admin")
MAX_USER_ID = 2**63 - 1  # Telegram ids fit in 64 bits, and so does SQLite's INTEGER
_USER_ID = re.compile(r"\+?([0-9]{1,19})")


class TeamError(ValueError):
    """A bad role, user id or an unknown member; the message is one sentence for the user."""


def role_rank(role: str | None) -> int:
    """0 for strangers, then 1..4 in the order of ROLES."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def at_least(role: str | None, needed: str) -> bool:
    return role_rank(role) >= role_rank(needed)


def parse_user_id(text: str | int) -> int:
    """The Telegram user id `text` names (surrounding spaces and a leading `+` allowed), else TeamError."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _USER_ID.fullmatch(str(text).strip(" \t"))
        if match is None:
            raise TeamError(f"{str(text)[:40]!r} is not a Telegram user id (a whole number in ASCII digits)")
        value = int(match.group(1))
    if not 0 < value <= MAX_USER_ID:
        raise TeamError(f"{value} is not a Telegram user id (a positive 64-bit number)")
    return value


def canonical_user(text: str | int) -> str:
    """The one spelling of a user id that is stored (authors, approvers): its decimal digits."""
    return str(parse_user_id(text))
