"""SegmentContext behaviour: lazy RFM, temp tables on the context's own connection, parameterised SQL,
ordering, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.contact import ContactData, EventRecord, OrderRecord, TagRecord
from policy.dsl import DslError
from policy.rfm import RfmScores
from storage.db import Database
from storage.segments import SegmentContext, reading
from tests.segments_support import AT_BASE, diff_policy, write_contacts

AT = AT_BASE
D = timedelta(days=1)
BASE = [
    ContactData(
        "c2",
        email="c2@example.org",
        consents={"email": "granted"},
        region="Урал",
        tags=(TagRecord("vip", AT - D),),
        events=(EventRecord("open", AT - D),),
    ),
    ContactData(
        "c1", region="x'); DROP TABLE contacts; --", orders=(OrderRecord("o1", 5000, "paid", AT - D, AT - D),)
    ),
    ContactData("c3"),
]


TEMP_TABLES = "SELECT name FROM sqlite_temp_master WHERE type = 'table' ORDER BY name"


async def temp_tables(ctx: SegmentContext) -> list[str]:
    """The temp tables on the context's own connection."""
    return [str(r[0]) for r in await ctx.fetchall(TEMP_TABLES)]


async def writer_temp_tables(db: Database) -> list[str]:
    async with db.transaction() as conn, conn.execute(TEMP_TABLES) as cur:
        return [str(r[0]) for r in await cur.fetchall()]


@pytest.fixture
async def filled(db: Database) -> Database:
    await write_contacts(db, BASE)
    return db


async def test_a_simple_count_does_not_build_rfm(filled: Database) -> None:
    async with reading(filled, diff_policy(), AT) as ctx:
        assert await ctx.count("tag:vip OR has:email OR event:open within 7d OR paid_total >= 1") == 2
        assert ctx.cuts is None
        assert await temp_tables(ctx) == []


async def test_rfm_is_built_once_on_the_contexts_connection_and_dropped_on_close(filled: Database) -> None:
    async with await SegmentContext.create(filled, diff_policy(), AT) as ctx:
        assert await ctx.count("rfm:no_activity") == 1
        cuts = ctx.cuts
        assert await temp_tables(ctx) == [ctx.rfm_table]
        assert await writer_temp_tables(filled) == [], "the writer never holds a reading scope's tables"
        assert await ctx.count("r >= 1") == 2
        assert ctx.cuts is cuts, "not rebuilt"
        reader = await ctx.reader()
    assert await reader.fetchall(TEMP_TABLES) == [], "dropped before the connection went back"
    async with filled.readers.lend() as again:
        assert again is reader, "a clean connection is reused"


async def test_open_contexts_each_own_their_connection_and_tables(filled: Database) -> None:
    contexts = [SegmentContext(filled, diff_policy(), AT + k * D) for k in range(5)]
    try:
        for ctx in contexts:
            assert await ctx.count("rfm:no_activity") == 1
        for ctx in contexts:
            assert await temp_tables(ctx) == [ctx.rfm_table]
        assert len({id(await ctx.reader()) for ctx in contexts}) == 5
    finally:
        for ctx in contexts:
            await ctx.close()
    for ctx in contexts:
        assert ctx.cuts is None
        await ctx.close()  # idempotent


async def test_values_are_parameters_never_sql_text(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy(), AT)
    hostile = "x'); DROP TABLE contacts; --"
    frag = ctx.compile(f'region = "{hostile}" OR tag:vip')
    assert hostile not in frag.sql and "vip" not in frag.sql
    assert hostile in frag.params and "vip" in frag.params
    assert await ctx.list(f'region = "{hostile}" OR tag:vip') == ["c1", "c2"]
    assert await filled.scalar("SELECT COUNT(*) FROM contacts") == 3


async def test_list_is_ordered_by_id_and_limited(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy(), AT)
    assert await ctx.list("all") == ["c1", "c2", "c3"]
    assert await ctx.list("all", limit=2) == ["c1", "c2"]
    assert await ctx.list("all", limit=0) == []
    assert await ctx.list("NOT all") == []


async def test_bad_expressions_fail_cleanly_and_change_nothing(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy(), AT)
    for text in ("tag:unknown", "segment:nope", "has:fax", "r >=", "(all"):
        with pytest.raises(DslError):
            await ctx.count(text)
    assert await filled.scalar("SELECT COUNT(*) FROM contacts") == 3
    assert await ctx.count("all") == 3


async def test_rfm_of_agrees_with_and_without_the_base_table(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy(), AT)
    direct = {cid: await ctx.rfm_of(cid) for cid in ("c1", "c2", "c3", "ghost")}
    assert ctx.cuts is None, "one contact by thresholds needs no base-wide table"
    assert direct["c3"] is None and direct["ghost"] is None
    assert await ctx.rfm_counts() == {"big_spenders": 1, "other": 1, "no_activity": 1}
    assert ctx.cuts is None, "threshold counts need no table either"
    assert direct["c2"] == RfmScores(r=5, f=2, m=1, segment="other")
    assert direct["c1"] == RfmScores(r=5, f=2, m=4, segment="big_spenders")
    ctx.rfm_segment_sql()
    await ctx.prepare()
    assert ctx.cuts is not None
    assert {cid: await ctx.rfm_of(cid) for cid in direct} == direct
    assert await ctx.rfm_counts() == {"big_spenders": 1, "other": 1, "no_activity": 1}


async def test_quantile_rfm_of_builds_the_base_table(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy("quantiles"), AT)
    scores = await ctx.rfm_of("c1")
    assert ctx.cuts is not None and scores is not None
    assert await ctx.rfm_counts() == {scores.segment: 2, "no_activity": 1}


async def test_rfm_segment_sql_is_a_keyed_lookup(filled: Database) -> None:
    ctx = await SegmentContext.create(filled, diff_policy(), AT)
    frag = ctx.rfm_segment_sql()
    await ctx.prepare()
    explain = await ctx.fetchall(f"EXPLAIN QUERY PLAN SELECT {frag.sql} FROM contacts c", tuple(frag.params))
    assert f"SEARCH temp.{ctx.rfm_table} USING PRIMARY KEY (id=?)" in [str(r[3]) for r in explain]
    rows = await ctx.fetchall(f"SELECT c.id, {frag.sql} FROM contacts c ORDER BY c.id", tuple(frag.params))
    assert [tuple(r) for r in rows] == [("c1", "big_spenders"), ("c2", "other"), ("c3", "no_activity")]
