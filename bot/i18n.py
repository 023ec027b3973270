"""Replies in the user's language: gettext catalogs (ru, en) compiled from the shipped .po files.

The .po files under `bot/locales/` are the only source: they are compiled to .mo in memory on first use
(Babel's `read_po` / `write_mo`), so no binary file is committed. Message ids are the English texts with
`{name}` placeholders; `Translator.gettext(msg, name=value)` fills them and HTML-escapes every value,
so user data can never inject markup into a reply while the catalog's own tags stay.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

LOCALES = ("ru", "en")
DOMAIN = "messages"
# Telegram's language_code for users whose interface language is closest to Russian.
RUSSIAN_SPEAKING = frozenset({"ru", "uk", "be", "kk"})


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined; translate it later with `gettext`."""
    return message


def pick_locale(stored: str | None, language_code: str | None) -> str:
    """A team member's stored locale wins; else Telegram's language_code: ru for ru/uk/be/kk, else en."""
    if stored in LOCALES:
        return stored
    if not language_code:
        return "en"
    base = language_code.lower().replace("_", "-").split("-", 1)[0]
    return "ru" if base in RUSSIAN_SPEAKING else "en"


@dataclass(frozen=True)
class Translator:
    """One locale's catalog; `gettext`/`ngettext` return HTML-safe `Markup` for Telegram's HTML mode.

    Build replies with f-strings or `"\n".join`: `Markup + str` would escape the plain operand.
    """

    locale: str
    catalog: gettext.NullTranslations

    def gettext(self, message: str, **values: object) -> Markup:
        return _fill(self.catalog.gettext(message), values)

    def plain(self, message: str, **values: object) -> str:
        """Unescaped text, for what Telegram shows as plain text (button alerts, button labels)."""
        template = self.catalog.gettext(message)
        return template.format(**values) if values else template

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> Markup:
        """The plural form for `n` (Russian has three); `{n}` is filled with `n`."""
        return _fill(self.catalog.ngettext(singular, plural, n), {"n": n, **values})


def _fill(template: str, values: dict[str, object]) -> Markup:
    # Markup.format escapes every argument that is not itself Markup, so a translated piece passed
    # into another message stays as it is, and everything else (user data) is escaped.
    return Markup(template).format(**values) if values else Markup(template)


class Catalogs:
    """The compiled catalogs of every shipped locale, and a translator per locale."""

    def __init__(self, translations: dict[str, gettext.NullTranslations], default: str = "ru") -> None:
        self.translations = translations
        self.default = default

    def translator(self, locale: str | None) -> Translator:
        name = locale if locale in self.translations else self.default
        return Translator(name, self.translations.get(name, gettext.NullTranslations()))


def compile_po(po_text: bytes, locale: str) -> gettext.GNUTranslations:
    """A .po file's text as a live gettext catalog (compiled to .mo bytes in memory)."""
    catalog = read_po(io.BytesIO(po_text), locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def po_source(locale: str) -> bytes:
    """The shipped .po file of `locale`."""
    path = resources.files("bot").joinpath("locales", locale, "LC_MESSAGES", f"{DOMAIN}.po")
    return path.read_bytes()


@lru_cache(maxsize=1)
def shipped_catalogs(default: str = "ru") -> Catalogs:
    """The catalogs shipped with the bot, compiled once per process."""
    return Catalogs({locale: compile_po(po_source(locale), locale) for locale in LOCALES}, default)
