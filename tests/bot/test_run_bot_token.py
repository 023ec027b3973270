"""`ritm run` with a bad RITM_BOT_TOKEN: one sentence naming it, exit 2, nothing started or created.

Real processes: `python -m ritm run` against the Telegram stand-in, which refuses unknown tokens (401).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

import pytest

from ritm.sandbox import TelegramStandin
from ritm.settings import Settings
from ritm.telegram_bot import BotTokenError, check_bot, make_bot


async def _run(tmp_path: Path, token: str, api_url: str | None = None) -> tuple[int, str]:
    env = {
        **os.environ,
        "RITM_DB": str(tmp_path / "ritm.db"),
        "RITM_BOT_TOKEN": token,
        "RITM_SECRET": secrets.token_urlsafe(48),
        "RITM_HTTP_PORT": "0",
    }
    if api_url is not None:
        env["RITM_TELEGRAM_API_URL"] = api_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", "run",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, stderr.decode()


@pytest.mark.parametrize("token", ["abc", "", "123:has space", "notdigits:AAE"])
async def test_a_malformed_token_stops_ritm_run_with_one_sentence(tmp_path: Path, token: str) -> None:
    code, stderr = await _run(tmp_path, token)
    assert code == 2
    assert "RITM_BOT_TOKEN is not a bot token" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "ritm.db").exists()  # nothing started: not even the database


async def test_a_token_the_server_refuses_stops_ritm_run_with_one_sentence(tmp_path: Path) -> None:
    async with TelegramStandin() as standin:
        code, stderr = await _run(tmp_path, "42:AAEwrongButWellFormed", standin.base_url)
    assert code == 2
    assert "RITM_BOT_TOKEN was refused by the Telegram Bot API (Unauthorized)" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "ritm.db").exists()


async def test_an_unreachable_api_defers_the_check_to_the_polling(tmp_path: Path) -> None:
    async with TelegramStandin() as standin:
        gone = standin.base_url  # nothing listens here once the stand-in stops
    bot = make_bot(Settings(bot_token=TelegramStandin().token, telegram_api_url=gone))  # type: ignore[arg-type]
    assert bot is not None
    try:
        await check_bot(bot)  # no exception: the process starts and the bot keeps trying
    finally:
        await bot.session.close()


async def test_an_accepted_token_passes_the_check() -> None:
    async with TelegramStandin() as standin:
        bot = make_bot(Settings(bot_token=standin.token, telegram_api_url=standin.base_url))  # type: ignore[arg-type]
        assert bot is not None
        try:
            await check_bot(bot)
        finally:
            await bot.session.close()
        assert standin.requests["getMe"] == 1
    with pytest.raises(BotTokenError, match="RITM_BOT_TOKEN"):
        make_bot(Settings(bot_token="abc"))  # type: ignore[arg-type]
