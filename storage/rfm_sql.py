"""Set-based RFM over the whole base: one temp table of scores per reading scope and `at`.

The SQL mirrors `policy.rfm` exactly (same windows, same floor, same nearest rank, same rule order);
tests compare the two contact by contact. Only contacts with activity get a row: a contact without
one is `no_activity`. Three grouped scans (events, orders created, orders paid), each read in
contact order from a covering index, feed one GROUP BY; scores and segment are computed in the same
INSERT for thresholds, or after one sort per metric for quantiles. The tables live on the scope's own
read connection (`storage.readers.Reader`); the scope drops them when it closes.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from datetime import timedelta

from policy.config import RfmConfig
from policy.rfm import PERCENTILES, UNMATCHED, RfmCuts, cut_points
from storage.db import Database
from storage.readers import Reader

DAY_S = 86400

# Per contact with any activity by :at — recency_days, frequency and monetary (see policy.rfm).
FACTS_SQL = """
SELECT contact_id AS id,
       (:at - MAX(last_at)) / 86400 AS recency_days,
       SUM(n) AS frequency,
       TOTAL(money) AS monetary
FROM (
    SELECT contact_id, MAX(at) AS last_at, SUM(at > :since) AS n, 0 AS money
      FROM events WHERE at <= :at GROUP BY contact_id
    UNION ALL
    SELECT contact_id, MAX(created_at), SUM(created_at > :since), 0
      FROM orders WHERE created_at <= :at GROUP BY contact_id
    UNION ALL
    SELECT contact_id, MAX(paid_at), 0, TOTAL(CASE WHEN paid_at > :since THEN amount ELSE 0 END)
      FROM orders WHERE status = 'paid' AND paid_at <= :at GROUP BY contact_id
)
GROUP BY contact_id
"""
# The same facts for a few contacts only (`:ids` a JSON array): a worker tick scores its batch, not
# the whole base.
SCOPED_FACTS_SQL = (
    FACTS_SQL.replace(
        "WHERE at <= :at", "WHERE at <= :at AND contact_id IN (SELECT value FROM json_each(:ids))"
    )
    .replace(
        "WHERE created_at <= :at",
        "WHERE created_at <= :at AND contact_id IN (SELECT value FROM json_each(:ids))",
    )
    .replace(
        "paid_at <= :at GROUP", "paid_at <= :at AND contact_id IN (SELECT value FROM json_each(:ids)) GROUP"
    )
)
# Quantile cut points of the whole base, by (database, policy RFM config, hour): a scoped table
# needs them too, and they move slowly.
_cuts_cache: weakref.WeakKeyDictionary[Database, dict[tuple[str, int], RfmCuts]] = weakref.WeakKeyDictionary()

TABLE_SQL = """
CREATE TEMP TABLE {table} (
    id           TEXT PRIMARY KEY,
    recency_days INTEGER NOT NULL,
    frequency    INTEGER NOT NULL,
    monetary     REAL NOT NULL,
    r            INTEGER NOT NULL,
    f            INTEGER NOT NULL,
    m            INTEGER NOT NULL,
    segment      TEXT NOT NULL
) WITHOUT ROWID
"""


def _scores_sql(source: str, cuts: RfmCuts, params: dict[str, object]) -> str:
    """SELECT id, metrics, r, f, m, segment FROM `source`; cut points and rules become parameters."""
    for i, (rec, freq, mon) in enumerate(zip(cuts.recency, cuts.frequency, cuts.monetary, strict=True)):
        params[f"rc{i}"], params[f"fc{i}"], params[f"mc{i}"] = rec, freq, mon
    r = "5 - (" + " + ".join(f"(recency_days > :rc{i})" for i in range(len(cuts.recency))) + ")"
    f = "1 + " + " + ".join(f"(frequency >= :fc{i})" for i in range(len(cuts.frequency)))
    m = "1 + " + " + ".join(f"(monetary >= :mc{i})" for i in range(len(cuts.monetary)))
    whens = []
    for i, rule in enumerate(cuts.rules):
        params.update({f"n{i}": rule.name, f"rl{i}": rule.r[0], f"rh{i}": rule.r[1]})
        params.update({f"fl{i}": rule.f[0], f"fh{i}": rule.f[1]})
        cond = f"r BETWEEN :rl{i} AND :rh{i} AND f BETWEEN :fl{i} AND :fh{i}"
        if rule.m is not None:
            params.update({f"ml{i}": rule.m[0], f"mh{i}": rule.m[1]})
            cond += f" AND m BETWEEN :ml{i} AND :mh{i}"
        whens.append(f"WHEN {cond} THEN :n{i}")
    params["unmatched"] = UNMATCHED
    segment = f"CASE {' '.join(whens)} ELSE :unmatched END" if whens else ":unmatched"
    return (
        f"SELECT id, recency_days, frequency, monetary, r, f, m, {segment} AS segment FROM ("
        f"SELECT id, recency_days, frequency, monetary, {r} AS r, {f} AS f, {m} AS m FROM ({source}))"
    )


async def materialise_rfm(
    db: Database, reader: Reader, table: str, config: RfmConfig, at_s: int, ids: Sequence[str] | None = None
) -> RfmCuts:
    """Create temp table `table` on `reader` with the RFM of every active contact at `at_s` (or of those
    among `ids`); return the cut points."""
    window: timedelta = config.period
    base = {"at": at_s, "since": at_s - int(window.total_seconds())}
    async with reader.scratch() as conn:
        await conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        await conn.execute(TABLE_SQL.format(table=table))
        if ids is not None:
            cuts = (
                cut_points(config)
                if config.method == "thresholds"
                else await _hourly_cuts(db, reader, config, at_s)
            )
            params = {**base, "ids": json.dumps(list(ids))}
            await conn.execute(
                f"INSERT INTO temp.{table} {_scores_sql(SCOPED_FACTS_SQL, cuts, params)}", params
            )
            return cuts
        if config.method == "thresholds":
            cuts = cut_points(config)
            params = dict(base)
            await conn.execute(f"INSERT INTO temp.{table} {_scores_sql(FACTS_SQL, cuts, params)}", params)
            return cuts
        facts = f"{table}_facts"
        await conn.execute(f"DROP TABLE IF EXISTS temp.{facts}")
        await conn.execute(f"CREATE TEMP TABLE {facts} AS {FACTS_SQL}", base)
        try:
            cuts = await _quantile_cuts(reader, facts, config)
            params = {}
            source = f"SELECT * FROM temp.{facts} ORDER BY id"
            await conn.execute(f"INSERT INTO temp.{table} {_scores_sql(source, cuts, params)}", params)
        finally:
            await conn.execute(f"DROP TABLE IF EXISTS temp.{facts}")
        return cuts


async def drop_rfm_table(reader: Reader, table: str) -> None:
    async with reader.scratch() as conn:
        await conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


async def _hourly_cuts(db: Database, reader: Reader, config: RfmConfig, at_s: int) -> RfmCuts:
    """The base's quantile cut points for the hour of `at_s` (the caller holds `reader.scratch()`)."""
    key = (config.model_dump_json(), at_s // 3600)
    cache = _cuts_cache.setdefault(db, {})
    if key not in cache:
        facts = f"ritm_rfm_cuts_{at_s}"
        window = int(config.period.total_seconds())
        await reader.conn.execute(f"DROP TABLE IF EXISTS temp.{facts}")
        await reader.conn.execute(
            f"CREATE TEMP TABLE {facts} AS {FACTS_SQL}", {"at": at_s, "since": at_s - window}
        )
        try:
            cuts = await _quantile_cuts(reader, facts, config)
            cache.clear()  # one hour's cut points are enough to keep
            cache[key] = cuts
        finally:
            await reader.conn.execute(f"DROP TABLE IF EXISTS temp.{facts}")
    return cache[key]


async def threshold_distribution(reader: Reader, config: RfmConfig, at_s: int) -> dict[str, int]:
    """Active contacts per RFM segment by thresholds, in one aggregate pass (no table is written)."""
    params: dict[str, object] = {"at": at_s, "since": at_s - int(config.period.total_seconds())}
    scored = _scores_sql(FACTS_SQL, cut_points(config), params)
    rows = await reader.fetchall(f"SELECT segment, COUNT(*) FROM ({scored}) GROUP BY segment", params)
    return {str(r[0]): int(r[1]) for r in rows}


async def _quantile_cuts(reader: Reader, facts: str, config: RfmConfig) -> RfmCuts:
    """Nearest-rank percentiles of each metric over the active contacts (one sort per metric)."""
    count = int(await reader.scalar(f"SELECT COUNT(*) FROM temp.{facts}") or 0)  # type: ignore[call-overload]
    if count == 0:
        return cut_points(config)
    ranks = [max((p * count + 99) // 100, 1) for p in PERCENTILES]
    values: dict[str, tuple[float, ...]] = {}
    for column in ("recency_days", "frequency", "monetary"):
        rows = await reader.fetchall(
            f"SELECT rn, v FROM (SELECT {column} AS v, ROW_NUMBER() OVER (ORDER BY {column}) AS rn "
            f"FROM temp.{facts}) WHERE rn IN ({','.join('?' * len(ranks))})",
            tuple(ranks),
        )
        at_rank = {int(row[0]): row[1] for row in rows}
        values[column] = tuple(at_rank[k] for k in ranks)
    return RfmCuts(values["recency_days"], values["frequency"], values["monetary"], tuple(config.segments))
