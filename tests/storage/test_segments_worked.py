"""The worked example's segment counts and RFM distribution (tests/fixtures/worked/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

from policy.config import Policy
from policy.evaluate import evaluate
from policy.rfm import NO_ACTIVITY
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


async def test_the_pure_evaluator_agrees_on_the_worked_base(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))
    at = parse_instant(expected["at"])
    await load_worked(db, worked_dir, worked_policy)
    ids = [str(row[0]) for row in await db.fetchall("SELECT id FROM contacts ORDER BY id")]
    base = await load_contacts(db, ids)
    assert len(base) == expected["segment_count"]["all"]
    for text, want in expected["segment_count"].items():
        assert sum(evaluate(text, c, worked_policy, at) for c in base) == want, text
