"""What every command shares: global options, opening the database, errors, `--at`, JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from policy.config import Policy, PolicyError
from policy.timeutil import TimeParseError, parse_instant
from ritm.event_loop import LoopFactory
from ritm.policy_file import load_policy
from ritm.settings import Settings, SettingsError, load_settings, secret_problem
from storage.db import Database

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


@dataclass
class CliState:
    db_path: Path = Path("ritm.db")
    policy_path: Path | None = None
    _policy: Policy | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)

    def forget(self) -> None:
        self._policy = None
        self._settings = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as exc:
                fail(str(exc))
        return self._settings

    def signing_settings(self) -> Settings:
        """The settings of a command that hands out signed links or accepts signed webhooks.

        Only such commands need a real secret (`ritm run`); a dry run's previews are never sent, and
        links signed with the placeholder verify on no server, because none starts with it.
        """
        settings = self.settings()
        problem = secret_problem(settings)
        if problem is not None:
            fail(problem)
        return settings

    def policy(self) -> Policy:
        if self._policy is None:
            try:
                self._policy = load_policy(self.policy_path)
            except PolicyError as exc:
                fail(str(exc))
        return self._policy


STATE = CliState()


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clear sentence on stderr, then exit 2 (bad input) or 1 (failure)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run(main: Callable[[], Awaitable[T]], loop_factory: LoopFactory | None = None) -> T:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())  # type: ignore[arg-type]


async def open_db() -> Database:
    try:
        return await Database.open(STATE.db_path)
    except Exception as exc:
        fail(f"cannot open database {STATE.db_path}: {exc}", EXIT_FAILURE)


def parse_at(text: str | None) -> datetime:
    """`--at` (ISO-8601; naive = policy timezone) or now."""
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_instant(text, STATE.policy().default_timezone)
    except TimeParseError as exc:
        fail(f"--at: {exc}")


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n")
