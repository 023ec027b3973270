"""The one place where CSV headers become Ritm fields: Ritm's own names and GetCourse-style Russian ones.

A school exports its base from its platform with the platform's headers («Email», «Имя», «Дата
создания», «Статус»…); the importer only ever sees the canonical field names below. Headers are
matched after `normalize_header`: case, spaces, `_`/`-` and `ё` do not matter. When two headers of a
file map to the same field, the one listed first here wins and the other is kept as a custom field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["contacts", "orders", "events"]
KINDS: tuple[Kind, ...] = ("contacts", "orders", "events")


class ImportFileError(ValueError):
    """The file itself is unusable (missing, not UTF-8 CSV, no required header); one sentence."""


def normalize_header(text: str) -> str:
    """`« Telegram_ID »` → `telegram id`: the key headers are compared by."""
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold().replace("ё", "е")
    folded = folded.strip().strip("«»\"'").strip()
    return re.sub(r"[\s_\-]+", " ", folded)


# field → accepted headers, best first (each is normalized before comparing).
CONTACT_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "contact id", "user id", "id пользователя", "номер пользователя", "пользователь id"),
    "email": ("email", "e-mail", "e mail", "почта", "электронная почта", "email пользователя"),
    "name": ("name", "имя", "фио", "имя пользователя", "first name"),
    "last_name": ("last name", "surname", "фамилия"),
    "telegram_chat_id": (
        "telegram chat id",
        "telegram id",
        "telegram",
        "id telegram",
        "телеграм id",
        "телеграм",
    ),
    "phone": ("phone", "телефон", "номер телефона", "мобильный телефон"),
    "vk_id": ("vk id", "vk", "id vk", "вконтакте", "id вконтакте", "вк"),
    "timezone": ("timezone", "time zone", "tz", "часовой пояс", "таймзона"),
    "locale": ("locale", "language", "язык"),
    "region": ("region", "регион", "город", "city", "страна", "country"),
    "interest": ("interest", "интерес", "боль", "тема"),
    "created_at": ("created at", "дата создания", "создан", "дата регистрации", "зарегистрирован"),
    "consent_email": ("consent email", "согласие на рассылку", "согласие email", "согласие на email"),
    "consent_telegram": (
        "consent telegram",
        "согласие telegram",
        "согласие на telegram",
        "согласие на телеграм",
    ),
    "consent_sms": ("consent sms", "согласие sms", "согласие на sms", "согласие на смс"),
    "consent_vk": ("consent vk", "согласие vk", "согласие на vk", "согласие вконтакте"),
    "tags": ("tags", "теги", "метки"),
}
ORDER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "order id", "номер заказа", "id заказа", "номер", "заказ"),
    "contact_id": ("contact id", "user id", "id пользователя", "пользователь id", "номер пользователя"),
    "email": ("email", "contact email", "email пользователя", "e-mail", "почта", "пользователь"),
    "amount": (
        "amount",
        "сумма",
        "стоимость",
        "стоимость, rub",
        "стоимость, руб",
        "сумма заказа",
        "сумма, rub",
    ),
    "currency": ("currency", "валюта"),
    "status": ("status", "статус", "статус заказа"),
    "created_at": ("created at", "дата создания", "создан", "дата заказа"),
    "paid_at": ("paid at", "дата оплаты", "оплачен в", "дата платежа"),
    "product": (
        "product",
        "product name",
        "продукт",
        "название продукта",
        "предложение",
        "offer",
        "состав заказа",
        "товар",
    ),
}
EVENT_ALIASES: dict[str, tuple[str, ...]] = {
    "contact_id": ("contact id", "user id", "id пользователя", "пользователь id", "номер пользователя"),
    "email": ("email", "contact email", "email пользователя", "почта"),
    "type": ("type", "event", "тип", "событие", "тип события"),
    "at": ("at", "time", "date", "дата", "время", "дата события"),
    "campaign_id": ("campaign id", "campaign", "рассылка", "кампания"),
    "meta": ("meta", "данные"),
}
ALIASES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "contacts": CONTACT_ALIASES,
    "orders": ORDER_ALIASES,
    "events": EVENT_ALIASES,
}
# Each inner tuple is "one of these"; a contact without `id` is keyed by its email.
REQUIRED: dict[Kind, tuple[tuple[str, ...], ...]] = {
    "contacts": (("id", "email"),),
    "orders": (("id",), ("contact_id", "email"), ("amount",), ("status",), ("created_at",)),
    "events": (("contact_id", "email"), ("type",), ("at",)),
}


@dataclass(frozen=True)
class HeaderMap:
    """Where each known field sits in a row, plus the leftover columns (custom fields)."""

    kind: Kind
    width: int
    index: dict[str, int]
    labels: dict[str, str]  # field → the header as written in the file, for error messages
    extras: tuple[tuple[int, str], ...] = field(default=())

    def has(self, name: str) -> bool:
        return name in self.index


def _lookup(kind: Kind) -> dict[str, tuple[str, int]]:
    """normalized header → (field, rank); rank orders competing headers for one field."""
    table: dict[str, tuple[str, int]] = {}
    for name, aliases in ALIASES[kind].items():
        for rank, alias in enumerate(aliases):
            table.setdefault(normalize_header(alias), (name, rank))
    return table


_LOOKUPS: dict[Kind, dict[str, tuple[str, int]]] = {kind: _lookup(kind) for kind in KINDS}


def _better_kind(kind: Kind, header: Sequence[str], fitted: int) -> Kind | None:
    """Another kind whose required columns the header has and which names more of its columns than
    `kind` does (`fitted`): an orders file given to the contacts import, say. Nothing is written then."""
    keys = [normalize_header(raw) for raw in header]
    for other in KINDS:
        if other == kind:
            continue
        found = {_LOOKUPS[other][key][0] for key in keys if key in _LOOKUPS[other]}
        if len(found) > fitted and all(any(o in found for o in options) for options in REQUIRED[other]):
            return other
    return None


def map_header(kind: Kind, header: Sequence[str], source: str) -> HeaderMap:
    """Resolve a header row; raise `ImportFileError` when a required field has no column."""
    lookup = _LOOKUPS[kind]
    best: dict[str, tuple[int, int]] = {}  # field → (rank, column)
    extras: list[tuple[int, str]] = []
    seen: set[str] = set()
    for column, raw in enumerate(header):
        key = normalize_header(raw)
        if not key:
            continue
        if key in seen:
            raise ImportFileError(f"{source}: the column {raw.strip()!r} appears twice in the header")
        seen.add(key)
        hit = lookup.get(key)
        if hit is None:
            extras.append((column, raw.strip()))
            continue
        name, rank = hit
        if name in best and best[name][0] <= rank:
            extras.append((column, raw.strip()))
            continue
        if name in best:
            loser = best[name][1]
            extras.append((loser, header[loser].strip()))
        best[name] = (rank, column)
    other = _better_kind(kind, header, len(best))
    if other is not None:
        raise ImportFileError(
            f"{source}: this looks like {'an' if other[0] in 'aeiou' else 'a'} {other} file:"
            f" use `ritm import {other}`"
        )
    for options in REQUIRED[kind]:
        if not any(option in best for option in options):
            wanted = " or ".join(repr(o) for o in options)
            found = ", ".join(repr(h.strip()) for h in header[:8]) or "nothing"
            raise ImportFileError(
                f"{source}: does not look like a {kind} file: it has no {wanted} column"
                f" (the header has {found})"
            )
    index = {name: column for name, (_, column) in best.items()}
    return HeaderMap(
        kind=kind,
        width=len(header),
        index=index,
        labels={name: header[column].strip() for name, column in index.items()},
        extras=tuple(sorted(extras)),
    )
