"""Seeing the work after real sends: `campaign list` states, `outbox list`, `contact history`, `status`
and `outbox retry`, run as a shell would against the database a real dispatcher wrote.

Mail goes to the real SMTP sandbox: `policy-block…` recipients get `550 5.7.1` (a permanent failure).
An uncertain row is made the way a crash makes one: `sending` under a holder that is gone, recovered.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import typer
from typer.testing import CliRunner

from policy.timeutil import to_epoch
from ritm.cli import campaign_cmd, contact_cmd, history_cmd, outbox_cmd, status_cmd
from ritm.cli.main import _global
from storage.history import campaign_outcomes
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax


def shell(world: World) -> typer.Typer:
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    for module in (campaign_cmd, contact_cmd, history_cmd, outbox_cmd, status_cmd):
        module.register(root)
    return root


async def ritm(world: World, *args: str) -> tuple[int, str, str]:
    """The CLI in a thread of its own (it runs its own event loop) on the world's database file."""
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, shell(world), ["--db", str(world.app.db.path), *args], env={"COLUMNS": "80"}
    )
    return result.exit_code, result.stdout, result.stderr


async def sent_campaign(world: World) -> None:
    """`h-1` to six contacts: four delivered, `policy-block1` refused for good, `k05` left uncertain."""
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["k01", "k02", "k03", "k04", "k05", "policy-block1"], at=now)
    text = campaign_toml("h-1", start=now, deadline=now + timedelta(days=1))
    await world.app.service.add(text, "h-1.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("h-1", at=now, by=AUTHOR)
    await world.app.service.approve("h-1", by=APPROVER, at=now)
    await world.app.service.plan("h-1", at=now)
    async with world.app.db.transaction() as conn:  # what a SIGKILL mid-send leaves behind
        await conn.execute(
            "UPDATE outbox SET status = 'sending', claimed_by = 'dead', lease_until = ?"
            " WHERE contact_id = 'k05'",
            (to_epoch(now) - 1,),
        )
    assert (await world.app.recover())["uncertain"] == 1
    while (await world.app.dispatch(now)).claimed:
        pass
    await world.app.dispatch(now)  # an idle tick closes the campaign


async def test_done_states_queue_and_history_after_real_sends(world: World) -> None:
    await sent_campaign(world)
    code, out, _ = await ritm(world, "campaign", "list")
    assert code == 0 and "done, 1 uncertain left" in out
    code, out, _ = await ritm(world, "campaign", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["status"], listed["failed"], listed["uncertain"]) == ("done", 1, 1)

    code, out, _ = await ritm(world, "outbox", "list", "--campaign", "h-1", "--status", "failed", "--json")
    [failed] = json.loads(out)
    assert failed["contact_id"] == "policy-block1" and "5.7.1" in failed["error"]
    code, out, _ = await ritm(world, "outbox", "list", "--campaign", "h-1")
    assert code == 0 and "policy-block1" in out and "uncertain" in out and "times in Europe/Moscow" in out

    code, out, _ = await ritm(world, "contact", "history", "k01", "--json")
    history = json.loads(out)
    assert [(m["campaign_id"], m["status"]) for m in history["messages"]] == [("h-1", "sent")]
    code, out, _ = await ritm(world, "contact", "history", "policy-block1")
    assert code == 0 and "failed" in out and "5.7.1" in out

    at = world.clock().isoformat()
    code, out, _ = await ritm(world, "status", "--json", "--at", at)
    status = json.loads(out)
    assert status["queue"]["h-1"]["rows"] == {"sent": 4, "failed": 1, "uncertain": 1}
    assert status["sent_last_5_min"] == {"email": 4}
    assert {e["contact_id"] for e in status["last_errors"]} == {"policy-block1", "k05"}
    assert status["running"] is False
    code, out, _ = await ritm(world, "status", "--at", at)
    assert code == 0 and "ritm run: not running" in out and "h-1" in out


async def test_retry_requeues_uncertain_and_failed_rows(world: World) -> None:
    await sent_campaign(world)
    at = world.clock().isoformat()
    code, out, _ = await ritm(
        world, "outbox", "retry", "--campaign", "h-1", "--status", "uncertain", "--dry-run", "--at", at
    )
    assert code == 0 and "would re-queue 1 uncertain" in out
    assert (await campaign_outcomes(world.app.db))["h-1"].uncertain == 1  # nothing changed

    code, out, _ = await ritm(
        world, "outbox", "retry", "--campaign", "h-1", "--status", "uncertain", "--at", at
    )
    assert code == 0 and "re-queued 1 uncertain" in out and "may get two" in out
    code, out, _ = await ritm(world, "campaign", "list", "--json")
    assert json.loads(out)[0]["status"] == "sending"
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    await world.app.dispatch(world.clock())
    assert len(world.smtp.to("k05@example.org")) == 1
    code, out, _ = await ritm(world, "campaign", "list")
    assert "done with failures (1)" in out

    # A failed row past its deadline cannot go out: it stays failed and the answer says so.
    late = (world.clock() + timedelta(days=2)).isoformat()
    code, out, _ = await ritm(
        world, "outbox", "retry", "--campaign", "h-1", "--status", "failed", "--at", late
    )
    assert code == 0 and "re-queued 0 failed" in out and "1 are past their deadline" in out
    assert (await campaign_outcomes(world.app.db))["h-1"].failed == 1


async def test_bad_input_gets_one_sentence_and_changes_nothing(world: World) -> None:
    await sent_campaign(world)
    before = (await campaign_outcomes(world.app.db))["h-1"].counts
    for args, words in (
        (("outbox", "list", "--status", "lost"), "unknown state 'lost'"),
        (("outbox", "list", "--limit", "0"), "--limit must be at least 1"),
        (("outbox", "retry", "--campaign", "h-1", "--status", "sent"), "failed or uncertain"),
        (("outbox", "retry", "--campaign", "nope", "--status", "failed"), "no campaign 'nope'"),
        (("outbox", "retry", "--campaign", "h-1", "--status", "failed", "--at", "soon"), "--at"),
        (("contact", "history", "nobody"), "no contact 'nobody'"),
    ):
        code, out, err = await ritm(world, *args)
        assert code == 2, args
        assert words in err and "Traceback" not in err + out
    assert (await campaign_outcomes(world.app.db))["h-1"].counts == before
