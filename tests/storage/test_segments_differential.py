"""The SQL compiler and set-based RFM agree with the pure evaluator and pure RFM on random bases.

Each example writes a random small base to a real SQLite file (copied from a migrated template),
draws random expressions as ASTs, prints them to text, and checks that `SegmentContext` selects
exactly the contacts `policy.evaluate` accepts at a random `at`, under threshold and quantile RFM.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from policy.contact import ContactData
from policy.dsl import Expr, parse, to_text
from policy.evaluate import evaluate
from policy.rfm import NO_ACTIVITY, RfmScores, cut_points, metrics_of, score
from storage.contact_data import load_contacts
from storage.db import Database
from storage.segments import SegmentContext
from tests.segments_support import all_leaves, at_instants, contacts, diff_policy, expressions, write_contacts

METHODS = st.sampled_from(["thresholds", "quantiles"])
_copies = itertools.count()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty database; each example works on a copy of it."""
    path = tmp_path_factory.mktemp("segments") / "template.db"

    async def make() -> None:
        db = await Database.open(path)
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()

    asyncio.run(make())
    return path


async def _open_copy(template: Path) -> Database:
    copy = template.parent / f"example-{next(_copies)}.db"
    shutil.copyfile(template, copy)
    return await Database.open(copy)


def _pure_scores(base: list[ContactData], method: str, at: datetime) -> dict[str, RfmScores | None]:
    config = diff_policy(method).rfm
    metrics = {c.id: metrics_of(c, at, config.period) for c in base}
    cuts = cut_points(config, metrics.values())
    return {cid: score(m, cuts) for cid, m in metrics.items()}


async def _check_segments(
    template: Path, base: list[ContactData], exprs: list[Expr], at: datetime, method: str
) -> None:
    policy = diff_policy(method)
    db = await _open_copy(template)
    try:
        await write_contacts(db, base)
        loaded = await load_contacts(db, [c.id for c in base])
        assert loaded == base, "the loader returns what was written"
        scores = _pure_scores(base, method, at) if method == "quantiles" else {}
        async with await SegmentContext.create(db, policy, at) as ctx:
            for expr in exprs:
                text = to_text(expr)
                note(f"expression: {text}")
                assert parse(text) == expr, "printing and parsing round-trips"
                want = [c.id for c in base if evaluate(text, c, policy, at, rfm=scores.get(c.id))]
                got = await ctx.list(text)
                assert sorted(got) == sorted(want), text
                assert await ctx.count(text) == len(want)
                assert await ctx.count(f"NOT ({text})") == len(base) - len(want), "no NULL leaks under NOT"
                # The same expression as a dry run's question: member sets read off the answer table.
                asked = ctx.question(text)
                await ctx.prepare()
                found = await ctx.fetchall(
                    f"SELECT c.id, {asked.sql} FROM contacts c {ctx.answers_join()}", tuple(asked.params)
                )
                assert {r[0] for r in found if r[1]} == set(want), f"{text} (answer form)"
                assert all(r[1] in (0, 1) for r in found), f"{text} is never NULL (answer form)"
    finally:
        await db.close()


@settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=contacts(),
    exprs=st.lists(expressions(), min_size=1, max_size=4),
    at=at_instants(),
    method=METHODS,
)
def test_sql_selects_what_the_evaluator_selects(
    template_db: Path, base: list[ContactData], exprs: list[Expr], at: datetime, method: str
) -> None:
    asyncio.run(_check_segments(template_db, base, exprs, at, method))


LEAVES = all_leaves()


async def _check_leaves(
    template: Path, base: list[ContactData], at: datetime, method: str, counted: set[int]
) -> None:
    """Every predicate at once, as columns of one SELECT (the way the campaign planner uses them)."""
    policy = diff_policy(method)
    db = await _open_copy(template)
    try:
        await write_contacts(db, base)
        scores = _pure_scores(base, method, at) if method == "quantiles" else {}
        async with await SegmentContext.create(db, policy, at) as ctx:
            # The scanning form, the per-contact lookup form and the answer-table form (a dry run's
            # questions) of every predicate, side by side.
            frags = [
                *(ctx.compile(leaf) for leaf in LEAVES),
                *(ctx.compile(leaf, lookup=True) for leaf in LEAVES),
                *(ctx.question(leaf) for leaf in LEAVES),
            ]
            await ctx.prepare()
            columns = ", ".join(f.sql for f in frags)
            params = tuple(p for f in frags for p in f.params)
            found = await ctx.fetchall(f"SELECT c.id, {columns} FROM contacts c {ctx.answers_join()}", params)
            rows = {r[0]: tuple(r[1:]) for r in found}
            for i in sorted(counted):  # count() answers a lone predicate from its own table
                assert await ctx.count(LEAVES[i]) == sum(r[i] for r in rows.values()), to_text(LEAVES[i])
        for contact in base:
            row = rows[contact.id]
            n = len(LEAVES)
            forms = zip(LEAVES, row[:n], row[n : 2 * n], row[2 * n :], strict=True)
            for leaf, scanned, looked_up, answered in forms:
                want = evaluate(leaf, contact, policy, at, rfm=scores.get(contact.id))
                assert {scanned, looked_up, answered} <= {0, 1}, f"{to_text(leaf)} is never NULL"
                assert bool(scanned) == want, f"{contact.id}: {to_text(leaf)}"
                assert bool(looked_up) == want, f"{contact.id}: {to_text(leaf)} (lookup form)"
                assert bool(answered) == want, f"{contact.id}: {to_text(leaf)} (answer form)"
    finally:
        await db.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=contacts(max_size=8),
    at=at_instants(),
    method=METHODS,
    counted=st.randoms(use_true_random=False).map(lambda rnd: set(rnd.sample(range(len(LEAVES)), 40))),
)
def test_every_predicate_agrees_with_the_evaluator(
    template_db: Path, base: list[ContactData], at: datetime, method: str, counted: set[int]
) -> None:
    asyncio.run(_check_leaves(template_db, base, at, method, counted))


async def _check_rfm(template: Path, base: list[ContactData], at: datetime, method: str) -> None:
    policy = diff_policy(method)
    config = policy.rfm
    metrics = {c.id: metrics_of(c, at, config.period) for c in base}
    cuts = cut_points(config, metrics.values())
    db = await _open_copy(template)
    try:
        await write_contacts(db, base)
        pure = Counter(s.segment if (s := score(m, cuts)) else NO_ACTIVITY for m in metrics.values())
        expected_counts = {name: n for name, n in pure.items() if name != NO_ACTIVITY}
        expected_counts[NO_ACTIVITY] = pure[NO_ACTIVITY]
        async with await SegmentContext.create(db, policy, at) as ctx:
            # Thresholds count in one pass without the table; then the table is built and counted.
            assert await ctx.rfm_counts() == expected_counts
            frag = ctx.rfm_segment_sql()
            await ctx.prepare()
            assert ctx.cuts == cuts
            assert await ctx.rfm_counts() == expected_counts
            rows = await ctx.fetchall(
                f"SELECT id, recency_days, frequency, monetary, r, f, m, segment FROM temp.{ctx.rfm_table}"
            )
            sql = {r[0]: tuple(r[1:]) for r in rows}
            for cid, m in metrics.items():
                scores = score(m, cuts)
                if scores is None:
                    assert cid not in sql, f"{cid} has no activity"
                    assert await ctx.rfm_of(cid) is None
                    continue
                assert sql[cid] == (m.recency_days, m.frequency, m.monetary, scores.r, scores.f, scores.m,
                                    scores.segment), cid  # fmt: skip
                assert await ctx.rfm_of(cid) == scores
            per_contact = await ctx.fetchall(f"SELECT c.id, {frag.sql} FROM contacts c", tuple(frag.params))
            for cid, segment in per_contact:
                scores = score(metrics[cid], cuts)
                assert segment == (scores.segment if scores else NO_ACTIVITY)
    finally:
        await db.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=contacts(max_size=10), at=at_instants(), method=METHODS)
def test_set_based_rfm_matches_pure_rfm(
    template_db: Path, base: list[ContactData], at: datetime, method: str
) -> None:
    asyncio.run(_check_rfm(template_db, base, at, method))
