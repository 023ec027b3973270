"""`ritm contact link ID [--json]`: the contact's Telegram deep link, the bot named by a setting or by
getMe on the Bot API (the stand-in over HTTP); bad input is one sentence and exit 2."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dispatcher.links import LinkSigner
from ritm.cli import contact_cmd, contact_link_cmd, import_cmd
from ritm.cli.main import _global
from ritm.sandbox.telegram_api import DEFAULT_TOKEN, TelegramStandin
from tests.secret_support import TEST_SECRET

USERS = "ID;Email;Имя\n1001;olga@example.org;Ольга\n" + "x" * 40 + ";long@example.org;Долгий\n"
LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]{1,64})")


def invoke(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    for module in (import_cmd, contact_cmd, contact_link_cmd):
        module.register(root)
    result = CliRunner().invoke(root, ["--db", str(tmp_path / "ritm.db"), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("RITM_BOT_TOKEN", "RITM_BOT_USERNAME", "RITM_TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RITM_SECRET", TEST_SECRET)
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    assert invoke(tmp_path, "import", "contacts", str(tmp_path / "users.csv"))[0] == 0
    return tmp_path


def test_the_link_names_the_bot_and_carries_a_token_the_bot_accepts(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RITM_BOT_USERNAME", "@school_bot")
    code, out, _ = invoke(base, "contact", "link", "1001")
    assert code == 0
    found = LINK.fullmatch(out.strip())
    assert found is not None and found.group(1) == "school_bot"
    assert LinkSigner(TEST_SECRET, "https://x").start_contact(found.group(2)) == "1001"
    code, out, _ = invoke(base, "contact", "link", "1001", "--json")
    assert code == 0 and json.loads(out) == {"contact": "1001", "url": found.group(0)}


async def test_without_a_username_setting_the_bot_api_names_the_bot(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with TelegramStandin(bot_username="getme_school_bot") as standin:
        monkeypatch.setenv("RITM_BOT_TOKEN", DEFAULT_TOKEN)
        monkeypatch.setenv("RITM_TELEGRAM_API_URL", standin.base_url)
        # The command runs its own event loop: off this one, which serves the stand-in.
        code, out, err = await asyncio.to_thread(invoke, base, "contact", "link", "1001")
    assert code == 0, err
    found = LINK.fullmatch(out.strip())
    assert found is not None and found.group(1) == "getme_school_bot"
    assert standin.requests["getMe"] == 1


@pytest.mark.parametrize(
    ("args", "env", "sentence"),
    [
        (["nobody"], {"RITM_BOT_USERNAME": "school_bot"}, "there is no contact 'nobody'"),
        (["1001"], {}, "the Telegram link needs the bot's username: set RITM_BOT_USERNAME"),
        (["1001"], {"RITM_BOT_USERNAME": "a b"}, "RITM_BOT_USERNAME: 'a b' is not a bot username"),
        (
            ["1001"],
            {"RITM_BOT_USERNAME": "school_bot", "RITM_SECRET": "change-me-in-production"},
            "RITM_SECRET",
        ),
        (["x" * 40], {"RITM_BOT_USERNAME": "school_bot"}, "is too long for a Telegram start link"),
    ],
)
def test_bad_input_is_one_sentence(
    base: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], sentence: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = invoke(base, "contact", "link", *args)
    assert code == 2 and out == ""
    assert sentence in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # one sentence (rich may wrap it once)
