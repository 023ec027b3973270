"""One SELECT per campaign that gives, for every audience member, the facts the policy decides on.

The segment compiler turns each DSL expression into a boolean SQL fragment over `contacts c`; we put
the audience in WHERE and every other membership question (reachability per channel, protected
segments in order, window segments in order, segment caps, versions) in the SELECT list, so a million
contacts cost one scan instead of a query per contact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from policy.config import Policy
from storage.db import Database
from storage.segments import SegmentContext

ADDRESS_SQL = {
    "email": "(c.email IS NOT NULL AND c.email != '')",
    "telegram": "(c.telegram_chat_id IS NOT NULL)",
    "sms": "(c.phone IS NOT NULL AND c.phone != '')",
}
BASE_WINDOW = "default"


@dataclass(frozen=True, slots=True)
class ContactFacts:
    contact_id: str
    timezone: str | None
    has_address: tuple[bool, ...]  # per campaign channel, in campaign order
    reachable: tuple[bool, ...]
    protected_by: str | None
    window_segment: str | None
    cap_segments: tuple[str, ...]
    version_index: int | None
    rfm_segment: str


@dataclass(frozen=True)
class AudienceQuestions:
    """What to ask about each contact; names are resolved by the segment compiler."""

    audience: str
    channels: Sequence[str]
    protect: Sequence[str]
    version_segments: Sequence[str]
    window_segments: Sequence[str]
    cap_segments: Sequence[str]


def questions_for(
    policy: Policy,
    audience: str,
    channels: Sequence[str],
    protect: Sequence[str],
    version_segments: Sequence[str],
) -> AudienceQuestions:
    return AudienceQuestions(
        audience=audience,
        channels=list(channels),
        protect=list(protect),
        version_segments=list(version_segments),
        window_segments=[name for name in policy.windows if name != BASE_WINDOW],
        cap_segments=list(policy.segment_caps),
    )


def _named(policy: Policy, name: str) -> str:
    """The DSL for a policy name: `all`, a named segment, or an RFM segment."""
    if name == "all":
        return "all"
    if name in policy.segments:
        return f"segment:{name}"
    return f"rfm:{name}"


async def contact_facts(
    db: Database, ctx: SegmentContext, policy: Policy, q: AudienceQuestions, *, only_ids: Sequence[str] = ()
) -> AsyncIterator[ContactFacts]:
    """Stream the facts of every audience member (or of `only_ids` among them)."""
    columns: list[str] = []
    params: list[object] = []

    def add(text: str) -> None:
        frag = ctx.compile(text)
        columns.append(f"({frag.sql})")
        params.extend(frag.params)

    for channel in q.channels:
        columns.append(ADDRESS_SQL[channel])
    for channel in q.channels:
        add(f"has:{channel}")
    for name in q.protect:
        add(_named(policy, name))
    for name in q.window_segments:
        add(_named(policy, name))
    for name in q.cap_segments:
        add(_named(policy, name))
    for name in q.version_segments:
        add(_named(policy, name))
    rfm = ctx.rfm_segment_sql()
    columns.append(f"({rfm.sql})")
    params.extend(rfm.params)

    where = ctx.compile(q.audience)
    await ctx.prepare()  # builds the per-`at` tables (RFM) the fragments refer to
    sql = f"SELECT c.id, c.timezone, {', '.join(columns)} FROM contacts c WHERE ({where.sql})"
    all_params = [*params, *where.params]
    if only_ids:
        sql += f" AND c.id IN ({','.join('?' * len(only_ids))})"
        all_params.extend(only_ids)
    sql += " ORDER BY c.id"

    n_ch, n_prot, n_win, n_cap = len(q.channels), len(q.protect), len(q.window_segments), len(q.cap_segments)
    async with db.conn.execute(sql, all_params) as cur:
        while True:
            rows = await cur.fetchmany(5000)
            if not rows:
                break
            for row in rows:
                values = tuple(row)
                i = 2
                has_address = tuple(bool(v) for v in values[i : i + n_ch])
                i += n_ch
                reachable = tuple(bool(v) for v in values[i : i + n_ch])
                i += n_ch
                protected_by = _first(q.protect, values[i : i + n_prot])
                i += n_prot
                window_segment = _first(q.window_segments, values[i : i + n_win])
                i += n_win
                caps = tuple(n for n, v in zip(q.cap_segments, values[i : i + n_cap], strict=True) if v)
                i += n_cap
                versions = values[i : i + len(q.version_segments)]
                version_index = next((k for k, v in enumerate(versions) if v), None)
                yield ContactFacts(
                    contact_id=values[0],
                    timezone=values[1],
                    has_address=has_address,
                    reachable=reachable,
                    protected_by=protected_by,
                    window_segment=window_segment,
                    cap_segments=caps,
                    version_index=version_index,
                    rfm_segment=str(values[-1]),
                )


def _first(names: Sequence[str], flags: Sequence[object]) -> str | None:
    for name, flag in zip(names, flags, strict=True):
        if flag:
            return name
    return None
