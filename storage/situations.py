"""Situations (`policy.decide.Situation`): one SELECT per step gives, for every audience member, the
facts the policy decides on, joined with the silences and counted messages read beside it.

The segment compiler turns each DSL expression into a boolean SQL fragment over `contacts c`; we put
the audience in WHERE and every other membership question (reachability per channel, protected
segments in order, window segments in order, segment caps, versions) in the SELECT list, so a million
contacts cost one scan instead of a query per contact.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Never

from policy.caps import Counted
from policy.config import Policy
from policy.decide import PREFERENCE, Situation
from policy.rfm import segment_names
from policy.silence import SilenceInputs
from policy.timeutil import from_epoch, to_epoch
from storage.db import Database
from storage.outbox import CountedRow, counted_messages, sent_counted_for
from storage.segments import ADDRESS_SQL, SegmentContext
from storage.silence_sql import silence_inputs

BASE_WINDOW = "default"
FETCH = 5000
NOTHING: Mapping[str, Never] = MappingProxyType({})


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
        cap_segments=[*policy.segment_caps, *(f"{PREFERENCE}{name}" for name in policy.frequency_caps)],
    )


def _named(policy: Policy, name: str) -> str:
    """The DSL for a policy name: `all`, a named segment, or an RFM segment."""
    if name == "all":
        return "all"
    if name in policy.segments:
        return f"segment:{name}"
    return f"rfm:{name}"


# A streamed audience member: its id, its situation and its group. Members of one group (an int)
# share one Situation object, equal for all of them but for the id (its `contact_id` is the group's
# first member's): a caller may decide it once. A member with silences or counted messages of its
# own is alone (group None) and its situation is its own.
Member = tuple[str, Situation, int | None]
GROUPS_MAX = 50_000  # distinct shared situations kept; members past it are simply decided alone


async def situations(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    q: AudienceQuestions,
    *,
    only_ids: Sequence[str] = (),
    silences: Mapping[str, SilenceInputs] = NOTHING,
    counted: Mapping[str, Sequence[CountedRow]] = NOTHING,
) -> AsyncIterator[Situation]:
    """Stream the situation of every audience member (or of `only_ids` among them), in id order;
    `silences` and `counted` are what `limits` read for them. Each situation is the contact's own."""
    async for batch in member_batches(
        db, ctx, policy, q, only_ids=only_ids, silences=silences, counted=counted, group=False
    ):
        for _, situation, _ in batch:
            yield situation


async def member_batches(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    q: AudienceQuestions,
    *,
    only_ids: Sequence[str] = (),
    silences: Mapping[str, SilenceInputs] = NOTHING,
    counted: Mapping[str, Sequence[CountedRow]] = NOTHING,
    group: bool = True,
) -> AsyncIterator[list[Member]]:
    """The audience members (see `Member`) in id order, a fetched batch at a time; `group=False` gives
    every member a situation of its own.

    Each question becomes one narrow column: bit masks for per-channel and cap-segment membership,
    CASE for "the first segment in order" (SQLite stops at the first match), so a million rows cost
    one scan and little Python.
    """
    params: list[object] = []

    def frag(text: str) -> str:
        # For a few ids, per-contact key lookups beat building each member list over the whole base;
        # over the base, every member set is a bit of one table joined once (`ctx.question`).
        compiled = ctx.compile(text, lookup=True) if only_ids else ctx.question(text)
        params.extend(compiled.params)
        return f"({compiled.sql})"

    rfm_names = set(segment_names(policy.rfm)) - set(policy.segments)
    rfm_windows = (
        {name: i for i, name in enumerate(q.window_segments)}
        if q.window_segments and set(q.window_segments) <= rfm_names
        else None
    )

    def cap_member(name: str) -> str:
        if name.startswith(PREFERENCE):
            params.append(name.removeprefix(PREFERENCE))
            return "(json_extract(c.fields, '$.frequency') IS ?)"
        return frag(_named(policy, name))

    def mask(parts: Sequence[str]) -> str:
        return "(" + " | ".join(f"({p} << {i})" for i, p in enumerate(parts)) + ")" if parts else "0"

    def first(parts: Sequence[str]) -> str:
        if not parts:
            return "NULL"
        return "CASE " + " ".join(f"WHEN {p} THEN {i}" for i, p in enumerate(parts)) + " END"

    columns = [
        mask([f"({ADDRESS_SQL[ch]})" for ch in q.channels]),
        mask([frag(f"has:{ch}") for ch in q.channels]),
        first([frag(_named(policy, name)) for name in q.protect]),
        # Windows named after RFM segments are read off the RFM column below, not probed again.
        "NULL" if rfm_windows is not None else first([frag(_named(policy, n)) for n in q.window_segments]),
        mask([cap_member(name) for name in q.cap_segments]),
        first([frag(_named(policy, name)) for name in q.version_segments]),
    ]
    rfm = ctx.rfm_segment_sql()
    columns.append(f"({rfm.sql})")
    params.extend(rfm.params)
    where = ctx.compile(q.audience, lookup=bool(only_ids))
    await ctx.prepare()  # builds the per-`at` tables (RFM) the fragments refer to
    join = "" if only_ids else ctx.answers_join()
    sql = f"SELECT c.id, c.timezone, {', '.join(columns)} FROM contacts c {join} WHERE ({where.sql})"
    all_params = [*params, *where.params]
    if only_ids:
        sql += f" AND c.id IN ({','.join('?' * len(only_ids))})"
        all_params.extend(only_ids)
    sql += " ORDER BY c.id"

    n_ch = len(q.channels)
    bits = _Bits(n_ch)
    caps = _CapSets(q.cap_segments)
    protect, windows = list(q.protect), list(q.window_segments)
    shared: dict[Sequence[Any], tuple[Situation, int]] = {}
    own = set(silences).union(counted)  # contacts with silences or counted messages of their own

    def situation(
        cid: str, row: Sequence[Any], quiet: SilenceInputs | None, mine: Sequence[CountedRow] | None
    ) -> Situation:
        _, tz, addr, reach, prot, win, cap, ver, rfm_name = row
        # Positional: a million keyword calls cost a visible share of a dry run.
        return Situation(
            cid,
            tz,
            bits[addr],
            bits[reach],
            protect[prot] if prot is not None else None,
            (
                (rfm_name if rfm_name in rfm_windows else None)
                if rfm_windows is not None
                else windows[win]
                if win is not None
                else None
            ),
            caps[cap],
            quiet,
            counted_of(mine) if mine else (),
            ver,
            str(rfm_name),
        )

    async with ctx.cursor(sql, all_params) as cur:
        cur.row_factory = None  # plain tuples: a million sqlite3.Row objects cost seconds
        # SQLite computes the next batch on the connection's thread (it releases the GIL while
        # stepping) while this one is decided here: the two overlap instead of taking turns.
        pending = asyncio.ensure_future(cur.fetchmany(FETCH))
        try:
            while rows := await pending:
                pending = asyncio.ensure_future(cur.fetchmany(FETCH))
                batch: list[Member] = []
                for row in rows:
                    cid = row[0]
                    if not group or cid in own:
                        quiet, mine = silences.get(cid), counted.get(cid)
                        batch.append((cid, situation(cid, row, quiet, mine), None))
                        continue
                    key = row[1:]
                    found = shared.get(key)
                    if found is None:
                        if len(shared) >= GROUPS_MAX:
                            batch.append((cid, situation(cid, row, None, None), None))
                            continue
                        found = shared[key] = (situation(cid, row, None, None), len(shared))
                    batch.append((cid, *found))
                yield batch
        finally:
            if not pending.done():
                pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending


async def situations_of(
    db: Database, ctx: SegmentContext, policy: Policy, q: AudienceQuestions, ids: Sequence[str], found: Limits
) -> dict[str, Situation]:
    """The situations of `ids` (those still in the audience), by contact id, under the limits `found`."""
    return {
        s.contact_id: s
        async for s in situations(
            db, ctx, policy, q, only_ids=ids, silences=found.silences, counted=found.counted
        )
    }


@dataclass(frozen=True)
class Limits:
    """Per contact: what silences derive from and the messages caps count."""

    silences: Mapping[str, SilenceInputs]
    counted: Mapping[str, Sequence[CountedRow]]


NO_LIMITS = Limits(NOTHING, NOTHING)


async def limits(
    db: Database,
    policy: Policy,
    *,
    at: datetime,
    begin: datetime,
    end: datetime,
    contact_ids: Sequence[str] = (),
    exclude_campaign: str | None = None,
) -> Limits:
    """The limits of messages due in [begin, end), known at `at`: silences overlapping the period and
    messages within the longest cap `per` of it (`exclude_campaign`: re-planning never counts itself)."""
    max_per = max((c.per for c in policy.all_caps()), default=timedelta(0))
    counted = await counted_messages(
        db,
        since=to_epoch(begin - max_per),
        until=to_epoch(end + max_per),
        exclude_campaign=exclude_campaign,
        contact_ids=contact_ids,
    )
    silences = await silence_inputs(
        db, policy, at=to_epoch(at), since=to_epoch(begin), until=to_epoch(end), contact_ids=contact_ids
    )
    return Limits(silences, counted)


async def limits_now(
    db: Database, policy: Policy, ids: Sequence[str], now: datetime, claimed: Sequence[int]
) -> Limits:
    """The limits at the instant `now` (the send-time re-check): silences covering it, and what was
    really sent or is in flight within the longest cap `per` (the `claimed` rows themselves aside)."""
    if not ids:
        return NO_LIMITS
    max_per = max((c.per for c in policy.all_caps()), default=timedelta(0))
    now_s = to_epoch(now)
    silences = await silence_inputs(db, policy, at=now_s, since=now_s, until=now_s + 1, contact_ids=ids)
    sent = await sent_counted_for(
        db, ids, since=to_epoch(now - max_per), until=now_s + 1, exclude_ids=claimed
    )
    return Limits(silences, sent)


def counted_of(rows: Sequence[CountedRow]) -> tuple[Counted, ...]:
    """Outbox rows as caps count them."""
    return tuple(Counted(from_epoch(r.at), r.channel, r.priority) for r in rows)  # type: ignore[arg-type]


class _Bits(dict[int, tuple[bool, ...]]):
    """mask → per-channel booleans, built once per mask value."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def __missing__(self, mask: int) -> tuple[bool, ...]:
        value = tuple(bool(mask >> i & 1) for i in range(self.width))
        self[mask] = value
        return value


class _CapSets(dict[int, tuple[str, ...]]):
    """mask → the cap segments' names it selects."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = list(names)

    def __missing__(self, mask: int) -> tuple[str, ...]:
        value = tuple(n for i, n in enumerate(self.names) if mask >> i & 1)
        self[mask] = value
        return value
