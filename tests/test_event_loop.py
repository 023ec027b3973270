"""The loop `ritm run` runs on: uvloop by default, asyncio's own on request; both run our code."""

from __future__ import annotations

import asyncio

import pytest

from ritm.cli.common import run
from ritm.event_loop import EventLoopName, loop_factory, loop_name


@pytest.mark.parametrize("name", ["uvloop", "asyncio"])
def test_the_named_loop_is_the_one_that_runs(name: EventLoopName) -> None:
    async def main() -> str:
        await asyncio.sleep(0)
        return loop_name()

    assert run(main, loop_factory(name)) == name
    assert (loop_factory(name) is None) == (name == "asyncio")
