"""Absurd commands get a specific reply each — never "Something went wrong" (the world's teardown also
fails on any handler error)."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, BotWorld

ABSURD = {
    "/segment " + "(" * 400 + "all" + ")" * 400: "nested too deeply",
    "/segment paid_total > 99999999999999999999999": "out of range",
    "/segment tag:marathon within 999999999999999d": "too long",
    "/segment \x00": "",
    "/segment " + "x" * 4000: "unknown field or predicate",
    "/contact " + "x" * 5000: "There is no contact",
    "/contact c1 " + "x" * 4000: "",
    "/stats " + "9" * 100: "",
    "/dryrun " + "x" * 4000: "",
    "/urgent " + "(" * 400 + "all" + ")" * 400: "",
    "/start " + "A" * 64: "",
}


async def test_every_absurd_command_gets_a_specific_reply(world: BotWorld) -> None:
    for text, expected in ABSURD.items():
        replies = await world.say(ADMIN, text)
        shown = " ".join(r.text or "" for r in replies)
        assert replies and "Something went wrong" not in shown, (text[:40], shown[:200])
        assert expected in shown, (text[:40], shown[:200])
