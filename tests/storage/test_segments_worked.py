"""The worked example's segment counts and RFM distribution (tests/fixtures/worked/expected.json)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from policy.config import Policy
from policy.evaluate import evaluate
from policy.rfm import NO_ACTIVITY, cut_points, metrics_of, score
from policy.timeutil import parse_instant
from storage.contact_data import load_contacts
from storage.db import Database
from storage.segments import SegmentContext
from tests.segments_support import load_worked


async def test_segment_counts_and_rfm_match(db: Database, worked_dir: Path, worked_policy: Policy) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))
    at = parse_instant(expected["at"])
    await load_worked(db, worked_dir, worked_policy)

    async with await SegmentContext.create(db, worked_policy, at) as ctx:
        counts = {text: await ctx.count(text) for text in expected["segment_count"]}
        rfm = await ctx.rfm_counts()
    assert counts == expected["segment_count"]
    assert rfm.pop(NO_ACTIVITY) == expected["rfm"]["no_activity"]
    assert rfm == expected["rfm"]["segments"]


async def _loaded(
    db: Database, worked_dir: Path, policy: Policy
) -> tuple[dict[str, Any], datetime, list[str]]:
    """The worked base in `db`: its expected results, their instant and every contact id in order."""
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))
    await load_worked(db, worked_dir, policy)
    ids = [str(row[0]) for row in await db.fetchall("SELECT id FROM contacts ORDER BY id")]
    return expected, parse_instant(expected["at"]), ids


async def test_the_pure_evaluator_agrees_on_the_worked_base(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    expected, at, ids = await _loaded(db, worked_dir, worked_policy)
    base = await load_contacts(db, ids)
    assert len(base) == expected["segment_count"]["all"]
    for text, want in expected["segment_count"].items():
        assert sum(evaluate(text, c, worked_policy, at) for c in base) == want, text


async def test_a_batchs_rfm_segments_are_each_contacts_own(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    """What the worker reads for templates (a batch's scoped table) is each contact's own RFM score."""
    expected, at, ids = await _loaded(db, worked_dir, worked_policy)
    cuts = cut_points(worked_policy.rfm)
    own = {
        c.id: scores.segment
        for c in await load_contacts(db, ids)
        if (scores := score(metrics_of(c, at, worked_policy.rfm.period), cuts)) is not None
    }
    batch = [*ids[::3], "ghost"]
    async with SegmentContext(db, worked_policy, at, scope=batch) as ctx:
        found = await ctx.rfm_segments()
    assert found == {cid: segment for cid, segment in own.items() if cid in batch}
    async with SegmentContext(db, worked_policy, at, scope=ids) as ctx:
        everyone = await ctx.rfm_segments()
    assert Counter(everyone.values()) == expected["rfm"]["segments"]
    assert len(ids) - len(everyone) == expected["rfm"]["no_activity"]
