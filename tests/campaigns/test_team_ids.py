"""Team user ids are Telegram ids compared as integers: no spelling of an id side-steps four-eyes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy.team import TeamError, parse_user_id
from ritm.cli.common import STATE
from storage.db import Database
from tests.cli_support import Invoke, worked_cli

AT = "2026-11-20T12:00:00+00:00"


@pytest.mark.parametrize("text", ["2", "02", " 2", "2 ", "+2", "\t+0002 ", 2])
def test_every_ascii_spelling_of_two_is_user_two(text: str | int) -> None:
    assert parse_user_id(text) == 2


@pytest.mark.parametrize(
    "text",
    ["٢", "２", "𝟐", "-2", "0", "2.0", "2_0", "", " ", "++2", "+-2", "0x2", "1" * 20, "9223372036854775808"],
)
def test_anything_else_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(TeamError) as caught:
        parse_user_id(text)
    assert "Telegram user id" in str(caught.value) and "\n" not in str(caught.value)


@pytest.fixture
def cli(tmp_path: Path, worked_dir: Path) -> Iterator[Invoke]:
    invoke = worked_cli(tmp_path, worked_dir)
    for user, role in (("1", "approver"), ("2", "approver"), ("3", "operator"), ("4", "viewer")):
        assert invoke("team", "add", user, role)[0] == 0
    yield invoke
    STATE.forget()


def test_the_author_spelled_differently_still_cannot_approve(cli: Invoke, worked_dir: Path) -> None:
    assert cli("campaign", "add", str(worked_dir / "campaign.toml"), "--by", "02")[0] == 0
    assert cli("campaign", "dry-run", "worked-1", "--at", AT, "--by", "+3")[0] == 0
    for spelling in ("2", " 2", "+2", "002"):
        code, _, err = cli("campaign", "approve", "worked-1", "--by", spelling)
        assert code == 2 and "four-eyes" in err, (spelling, err)
    code, _, err = cli("campaign", "approve", "worked-1", "--by", "٢")
    assert code == 2 and "not a Telegram user id" in err and err.count("\n") <= 2
    code, out, _ = cli("campaign", "show", "worked-1", "--json")
    assert json.loads(out)["status"] == "pending_approval"
    code, out, err = cli("campaign", "approve", "worked-1", "--by", "+01")
    assert code == 0 and "approved by 1" in out, err


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("add", "{file}", "--by", "4"), "user 4 is viewer; adding a campaign needs the operator role"),
        (("add", "{file}", "--by", "99"), "user 99 is not in the team"),
        (("add", "{file}", "--by", "٣"), "not a Telegram user id"),
        (("dry-run", "worked-1", "--at", AT, "--by", "4"), "a dry run needs the operator role"),
        (("plan", "worked-1", "--at", AT, "--by", "99"), "user 99 is not in the team"),
        (("reject", "worked-1", "--by", "3"), "needs the approver role"),
        (("cancel", "worked-1", "--by", "4"), "cancelling a campaign needs the operator role"),
    ],
)
def test_by_must_be_a_member_with_the_role_the_action_needs(
    cli: Invoke, worked_dir: Path, args: tuple[str, ...], why: str
) -> None:
    if args[0] != "add":
        assert cli("campaign", "add", str(worked_dir / "campaign.toml"), "--by", "3")[0] == 0
    before = cli("campaign", "list", "--json")[1]
    code, _, err = cli("campaign", *(a.format(file=worked_dir / "campaign.toml") for a in args))
    assert code == 2 and why in err and err.count("\n") <= 2, err
    assert cli("campaign", "list", "--json")[1] == before  # nothing changed


def test_team_add_refuses_non_ascii_digits(cli: Invoke) -> None:
    code, _, err = cli("team", "add", "٥", "viewer")
    assert code == 2 and "not a Telegram user id" in err
    code, out, _ = cli("team", "add", " +05", "viewer")
    assert code == 0 and out.startswith("5 is now viewer")


async def test_the_migration_makes_stored_authors_and_approvers_canonical(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with await Database.open(path) as db, db.transaction() as conn:
        for cid, author in (("a", "02"), ("b", " +7"), ("c", "cli"), ("d", "٢"), ("e", "12")):
            await conn.execute(
                "INSERT INTO campaigns (id, name, priority, source, fingerprint, author, created_at,"
                " updated_at) VALUES (?, ?, 'mass', '', 'f', ?, 0, 0)",
                (cid, cid, author),
            )
        await conn.execute(
            "INSERT INTO approvals (campaign_id, fingerprint, planned, decision, by_user, at)"
            " VALUES ('a', 'f', 1, 'approved', '0003', 0)"
        )
        # As a database from before 0008 looked: the migration not yet applied.
        await conn.execute("DELETE FROM schema_migrations WHERE number = 8")
        await conn.execute("DROP TABLE webhook_deliveries")
    async with await Database.open(path) as db:
        authors = await db.fetchall("SELECT id, author FROM campaigns ORDER BY id")
        assert [tuple(r) for r in authors] == [("a", "2"), ("b", "7"), ("c", "cli"), ("d", "٢"), ("e", "12")]
        assert await db.scalar("SELECT by_user FROM approvals") == "3"


def test_changing_the_team_as_a_named_member_needs_an_admin(cli: Invoke) -> None:
    code, _, err = cli("team", "add", "9", "viewer", "--by", "3")
    assert code == 2 and "user 3 is operator; changing the team needs the admin role" in err
    code, _, err = cli("team", "remove", "4", "--by", "99")
    assert code == 2 and "user 99 is not in the team" in err
    assert cli("team", "add", "8", "admin")[0] == 0
    assert cli("team", "add", "9", "viewer", "--by", "008")[0] == 0
    members = json.loads(cli("team", "list", "--json")[1])
    assert [m["user_id"] for m in members] == [1, 2, 3, 4, 8, 9]
