"""The catalogs: Russian plurals, language choice, and every message of the bot translated consistently."""

from __future__ import annotations

import io
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from markupsafe import Markup

from bot.i18n import compile_po, pick_locale, po_source, shipped_catalogs

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "контакт"), (2, "контакта"), (4, "контакта"), (5, "контактов"), (11, "контактов"),
     (12, "контактов"), (14, "контактов"), (21, "контакт"), (22, "контакта"), (25, "контактов"),
     (101, "контакт"), (111, "контактов"), (0, "контактов")],
)  # fmt: skip
def test_russian_plural_forms(n: int, form: str) -> None:
    ru = shipped_catalogs().translator("ru")
    assert ru.ngettext("{n} contact", "{n} contacts", n) == f"{n} {form}"


def test_english_plural_forms() -> None:
    en = shipped_catalogs().translator("en")
    assert [en.ngettext("{n} contact", "{n} contacts", n) for n in (1, 2, 21)] == [
        "1 contact",
        "2 contacts",
        "21 contacts",
    ]


@pytest.mark.parametrize(
    ("stored", "code", "locale"),
    [(None, "ru", "ru"), (None, "uk", "ru"), (None, "be", "ru"), (None, "kk", "ru"), (None, "ru-RU", "ru"),
     (None, "en", "en"), (None, "de", "en"), (None, None, "en"), ("en", "ru", "en"), ("ru", "de", "ru"),
     ("xx", "uk", "ru")],
)  # fmt: skip
def test_pick_locale(stored: str | None, code: str | None, locale: str) -> None:
    assert pick_locale(stored, code) == locale


def test_values_are_escaped_but_translated_pieces_are_not() -> None:
    ru = shipped_catalogs().translator("ru")
    assert ru.gettext("Not done: {why}", why="<b>&</b>") == "Не выполнено: &lt;b&gt;&amp;&lt;/b&gt;"
    assert ru.gettext("Audience: {n}", n=Markup("<i>x</i>")) == "Аудитория: <i>x</i>"
    assert ru.plain("Not done: {why}", why="<b>") == "Не выполнено: <b>"


def _extracted() -> dict[str | tuple[str, ...], list[str]]:
    keywords = dict(DEFAULT_KEYWORDS)
    keywords["plain"] = None
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, line, message, _, _ in extract_from_dir(
        str(BOT_DIR), method_map=[("**.py", "python")], keywords=keywords
    ):
        found.setdefault(message, []).append(f"{filename}:{line}")
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_message_of_the_bot_is_in_the_catalog(locale: str) -> None:
    catalog = read_po(io.BytesIO(po_source(locale)), locale=locale)
    extracted = _extracted()
    assert len(extracted) > 100
    missing = [m for m in extracted if (m if isinstance(m, str) else m[0]) not in catalog]
    assert not missing, f"add to bot/locales/{locale}: {missing[:5]}"
    if locale != "ru":
        return
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
        assert all(strings), f"untranslated: {message.id!r}"
        assert len(strings) == (1 if isinstance(message.id, str) else 3)
        wanted = _fields(ids[-1])
        for text in strings:
            assert _fields(text) == wanted, f"placeholders differ in {message.id!r}: {text!r}"


def test_po_compiles_in_memory_and_translates() -> None:
    translations = compile_po(po_source("ru"), "ru")
    assert translations.gettext("Cancelled.") == "Отменено."
    assert translations.ngettext("{n} contact", "{n} contacts", 3) == "{n} контакта"
    assert not list(BOT_DIR.rglob("*.mo"))  # nothing binary is shipped
