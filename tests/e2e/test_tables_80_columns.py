"""Every CLI table fits an 80-column terminal: nothing is cut to `…`, no line is wider, and times are
shown in the policy's timezone with its name. Rendered at COLUMNS=80 on the worked base with the
shipped example campaigns and a campaign that really sent (so stats, status and histories have rows)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import typer
from typer.testing import CliRunner

from ritm.cli import groups
from ritm.cli.main import _global
from tests.e2e.conftest import EXAMPLES, WORKED, World
from tests.e2e.test_history_and_retry import sent_campaign

WIDTH = 80


def shell() -> typer.Typer:
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    groups.register(root)
    return root


async def ritm(world: World, *args: str) -> str:
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, shell(), ["--db", str(world.app.db.path), *args], env={"COLUMNS": str(WIDTH)}
    )
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def assert_fits(args: tuple[str, ...], out: str) -> None:
    wide = [line for line in out.splitlines() if len(line.rstrip()) > WIDTH]
    assert not wide, (args, wide)
    cut = [line for line in out.splitlines() if "…" in line]
    assert not cut, (args, cut)


async def test_every_table_fits_80_columns(worked_world: World) -> None:
    world = worked_world
    await sent_campaign(world)
    outputs: dict[tuple[str, ...], str] = {}
    for name in ("digest.toml", "webinar.toml", "service.toml", "digest_series.toml"):
        out = await ritm(world, "campaign", "add", str(EXAMPLES / name), "--by", "101")
        outputs[("campaign", "add", name)] = out
    at = (world.clock() - timedelta(days=2)).isoformat()
    commands: list[tuple[str, ...]] = [
        ("import", "contacts", str(WORKED / "contacts.csv")),
        ("rfm", "--at", at),
        ("team", "list"),
        ("campaign", "list"),
        ("campaign", "show", "digest-48"),
        ("campaign", "dry-run", "digest-48", "--at", "2026-11-25T08:00:00+03:00"),
        ("campaign", "dry-run", "webinar-base-asset", "--at", "2026-11-23T09:00:00+03:00"),
        ("campaign", "dry-run", "stream-moved-1127", "--at", "2026-11-26T12:00:00+03:00"),
        ("campaign", "stats", "h-1", "--at", (world.clock() + timedelta(days=1)).isoformat()),
        ("contact", "explain", "h00002", "--campaign", "digest-48", "--at", "2026-11-25T08:00:00+03:00"),
        ("contact", "history", "policy-block1"),
        ("status", "--at", world.clock().isoformat()),
        ("outbox", "list"),
        ("campaign", "occurrences", "digest-weekly", "--count", "5"),
    ]
    for args in commands:
        outputs[args] = await ritm(world, *args)
    for args, out in outputs.items():
        assert_fits(args, out)
    assert "Europe/Moscow" in outputs[("outbox", "list")]
    assert "MSK" in outputs[("campaign", "show", "digest-48")]
