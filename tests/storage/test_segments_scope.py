"""A context scoped to a few contacts scores exactly those contacts as the whole-base context does."""

from __future__ import annotations

from datetime import datetime

import pytest

from policy.config import Policy
from storage.db import Database
from storage.segments import SegmentContext
from tests.segments_support import load_worked

AT = datetime.fromisoformat("2026-11-20T12:00:00+00:00")


@pytest.mark.parametrize("method", ["thresholds", "quantiles"])
async def test_scoped_rfm_matches_the_whole_base(
    db: Database, worked_dir, worked_policy: Policy, method: str
) -> None:  # type: ignore[no-untyped-def]
    policy = worked_policy.model_copy(update={"rfm": worked_policy.rfm.model_copy(update={"method": method})})
    await load_worked(db, worked_dir, policy)
    ids = [r[0] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id")][::7]
    whole = await SegmentContext.create(db, policy, AT)
    scoped = await SegmentContext.create(db, policy, AT, scope=ids)
    for cid in ids:
        assert await scoped.rfm_of(cid) == await whole.rfm_of(cid), cid
    for expr in ("rfm:champions", "rfm:loyal OR rfm:no_activity", "r >= 4 AND f <= 2", "frequency >= 3"):
        frag = scoped.compile(expr, lookup=True)
        await scoped.prepare()
        marks = ",".join("?" * len(ids))
        got = {
            r[0]
            for r in await scoped.fetchall(
                f"SELECT c.id FROM contacts c WHERE c.id IN ({marks}) AND {frag.sql}", (*ids, *frag.params)
            )
        }
        want = set(await whole.list(expr)) & set(ids)
        assert got == want, expr
    scored = await scoped.scalar(f"SELECT COUNT(*) FROM temp.{scoped.rfm_table}")
    assert isinstance(scored, int) and scored <= len(ids)  # only the scope was scored
    await scoped.close()
    await whole.close()
