"""`ritm team add USER_ID ROLE | list | remove USER_ID`, and the global `ritm pause` / `ritm resume`."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from ritm.cli.common import console, emit_json, fail, open_db, run
from storage.pause import set_paused
from storage.team import (
    ROLES,
    TeamError,
    acting_member,
    add_member,
    list_members,
    parse_user_id,
    remove_member,
)

# The machine's operator may always change the team (someone must add the first admin); a named
# member must be an admin, as in the bot.
BY_ADMIN = "A team admin to audit it under; the audit says `cli` without one."
team_app = typer.Typer(
    help="The team that may use the bot: Telegram user ids and roles.", no_args_is_help=True
)


@team_app.command("add")
def add(
    user_id: str = typer.Argument(..., help="Telegram user id."),
    role: str = typer.Argument(..., help=f"One of: {', '.join(ROLES)}."),
    name: str | None = typer.Option(None, "--name", help="A display name."),
    by: str | None = typer.Option(None, "--by", help=BY_ADMIN),
) -> None:
    """Add a member or change their role."""

    async def main() -> None:
        db = await open_db()
        try:
            actor = "cli" if by is None else await acting_member(db, by, "admin", "changing the team")
            member = await add_member(
                db, parse_user_id(user_id), role, by=actor, at=datetime.now(UTC), name=name
            )
        except TeamError as exc:
            fail(str(exc))
        finally:
            await db.close()
        console.print(f"{member.user_id} is now {member.role}")

    run(main)


@team_app.command("remove")
def remove(
    user_id: str = typer.Argument(...), by: str | None = typer.Option(None, "--by", help=BY_ADMIN)
) -> None:
    """Remove a member."""

    async def main() -> None:
        db = await open_db()
        try:
            actor = "cli" if by is None else await acting_member(db, by, "admin", "changing the team")
            removed = await remove_member(db, parse_user_id(user_id), by=actor, at=datetime.now(UTC))
        except TeamError as exc:
            fail(str(exc))
        finally:
            await db.close()
        if not removed:
            fail(f"{user_id} is not in the team")
        console.print(f"{user_id} removed")

    run(main)


@team_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the team."""

    async def main() -> None:
        db = await open_db()
        try:
            members = await list_members(db)
        finally:
            await db.close()
        if as_json:
            emit_json([{"user_id": m.user_id, "role": m.role, "name": m.name} for m in members])
            return
        table = Table("user id", "role", "name")
        for m in members:
            table.add_row(str(m.user_id), m.role, m.name or "")
        console.print(table)

    run(main)


def _pause(paused: bool, by: str) -> None:
    async def main() -> None:
        db = await open_db()
        try:
            waiting = await set_paused(db, paused, by=by, at=datetime.now(UTC))
        finally:
            await db.close()
        if paused:
            console.print(f"paused: only service messages go out; {waiting} waiting messages held")
        else:
            console.print(f"resumed: {waiting} waiting messages go out at their due times")

    run(main)


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")

    @app.command("pause")
    def pause(by: str = typer.Option("cli", "--by")) -> None:
        """Stop every message but service ones: none is handed to a channel once this returns."""
        _pause(True, by)

    @app.command("resume")
    def resume(by: str = typer.Option("cli", "--by")) -> None:
        """Undo `ritm pause`."""
        _pause(False, by)
