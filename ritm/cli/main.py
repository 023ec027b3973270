"""The `ritm` typer application: global options and the command groups."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from ritm.cli import common
from ritm.cli.common import STATE, open_db, run

app = typer.Typer(
    name="ritm",
    help="Ritm keeps the rhythm of a school's communications with its base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    db: Path = typer.Option(Path("ritm.db"), "--db", envvar="RITM_DB", help="SQLite database file."),
    policy: Path | None = typer.Option(None, "--policy", envvar="RITM_POLICY", help="Policy TOML file."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log to stderr."),
) -> None:
    STATE.db_path = db
    STATE.policy_path = policy
    STATE.forget()  # one process may run several commands (tests): read the files again
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)


@app.command()
def init() -> None:
    """Create or migrate the database (idempotent)."""

    async def main() -> list[str]:
        STATE.policy()
        db = await open_db()
        try:
            return await db.migrate()
        finally:
            await db.close()

    run(main)
    common.console.print(f"database ready: {STATE.db_path}")


def _register() -> None:
    from ritm.cli import groups

    groups.register(app)


def main() -> None:
    _register()
    app()
