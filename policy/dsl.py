"""The segment DSL (SPEC §5): tokens, the AST as frozen dataclasses, a recursive-descent parser.

    expr   := term ("OR" term)*
    term   := factor ("AND" factor)*
    factor := "NOT" factor | "(" expr ")" | predicate

Parsing checks everything that needs no policy (fields, channels, order statuses, durations, value
types); names that live in the policy (tags, segments, RFM segments) are checked by
`policy.segment_names.resolve`. Every node keeps the 1-based column it starts at so that later checks
can point at it; columns take no part in equality, so `parse(to_text(e)) == e`.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from policy.bounds import MAX_INT
from policy.config import CHANNELS
from policy.timeutil import MAX_DURATION, MAX_DURATION_TEXT

ORDER_STATUSES = ("pending", "paid", "cancelled", "refunded")
Op = Literal["=", "!=", "<", "<=", ">", ">="]
OPERATORS: tuple[Op, ...] = ("=", "!=", "<", "<=", ">", ">=")
COMPARE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
RFM_FIELDS = ("recency_days", "frequency", "monetary", "r", "f", "m")
NUMERIC_FIELDS = ("paid_total", "orders_count", *RFM_FIELDS, "created_days")
STRING_FIELDS = ("timezone", "locale", "region", "interest")
FIELDS = NUMERIC_FIELDS + STRING_FIELDS
PREFIXES = ("tag", "segment", "rfm", "has", "order", "event")
# ASCII digits only: `\d` would also read "٧" as 7.
_DURATION = re.compile(r"^([0-9]+)([mhdw])$", re.IGNORECASE)
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_WITHIN = MAX_DURATION
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
MAX_NESTING = 50  # parentheses and NOTs inside each other; beyond it an expression is not written by hand


class DslError(ValueError):
    """A DSL expression that cannot be understood; `column` is 1-based and starts the message."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"at column {column}: {message}")
        self.column = column
        self.reason = message


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["word", "string", "op", "(", ")"]
    text: str  # for strings: the unescaped value
    column: int


# Words hold predicates (`tag:funnel`), keywords, field names, numbers and durations.
_WORD = re.compile(r"[\w.\-:/]+")
_OP = re.compile(r"!=|<=|>=|=|<|>")


def tokenize(text: str) -> list[Token]:
    """Split DSL text into tokens; an unterminated string or a stray character is a `DslError`."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token(char, char, i + 1))  # type: ignore[arg-type]
            i += 1
        elif char == '"':
            i = _string(text, i, tokens)
        elif op := _OP.match(text, i):
            tokens.append(Token("op", op.group(), i + 1))
            i = op.end()
        elif word := _WORD.match(text, i):
            tokens.append(Token("word", word.group(), i + 1))
            i = word.end()
        else:
            raise DslError(i + 1, f'unexpected character "{char}"')
    return tokens


def _string(text: str, start: int, tokens: list[Token]) -> int:
    """Read a double-quoted string (backslash escapes `\\"` and `\\\\`); return the index after it."""
    value: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            value.append(text[i + 1])
            i += 2
        elif char == '"':
            tokens.append(Token("string", "".join(value), start + 1))
            return i + 1
        else:
            value.append(char)
            i += 1
    raise DslError(start + 1, 'unterminated string: expected a closing "')


@dataclass(frozen=True, slots=True)
class All:
    """`all`: every contact."""

    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Tag:
    """`tag:NAME [within D]`: the tag is active at `at` (and was set within the last D)."""

    name: str
    within: timedelta | None = None
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """`segment:NAME`: a named segment of the policy."""

    name: str
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Rfm:
    """`rfm:NAME`: an RFM segment of the policy, `no_activity` or `other` (scores no rule matched)."""

    name: str
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Has:
    """`has:CHANNEL`: reachable on the channel (address, granted consent, not suppressed)."""

    channel: str
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Order:
    """`order:STATUS [product = "X"] [within D]`: an order in that status (of that product) exists at
    `at`."""

    status: str
    within: timedelta | None = None
    product: str | None = None
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Event:
    """`event:TYPE [within D]`: an event of that type happened by `at` (within the last D)."""

    type: str
    within: timedelta | None = None
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Compare:
    """`FIELD OP VALUE`: numeric fields take numbers, string fields take quoted strings."""

    field: str
    op: Op
    value: int | float | str
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]
    column: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]
    column: int = dataclasses.field(default=0, compare=False)


Expr = All | Tag | SegmentRef | Rfm | Has | Order | Event | Compare | Not | And | Or


def parse(text: str) -> Expr:
    """Parse a DSL expression; raise `DslError` naming the column and what was expected."""
    return _Parser(tokenize(text), len(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_column = length + 1
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() == word

    def column(self) -> int:
        token = self.peek()
        return token.column if token else self.end_column

    def fail(self, expected: str) -> DslError:
        token = self.peek()
        found = f', found "{token.text}"' if token else " but the expression ends"
        return DslError(self.column(), f"expected {expected}{found}")

    # -- grammar ---------------------------------------------------------------------------------
    def parse(self) -> Expr:
        if not self.tokens:
            raise DslError(1, 'expected a predicate, "NOT" or "(" but the expression is empty')
        expr = self.expr()
        token = self.peek()
        if token is not None:
            if token.kind == "word" and token.text.lower() == "within":
                raise DslError(token.column, '"within" applies only to tag:, order: and event:')
            raise self.fail('"AND", "OR" or the end of the expression')
        return expr

    def expr(self) -> Expr:
        column = self.column()
        items = [self.term()]
        while self.keyword("or"):
            self.pos += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else Or(tuple(items), column)

    def term(self) -> Expr:
        column = self.column()
        items = [self.factor()]
        while self.keyword("and"):
            self.pos += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else And(tuple(items), column)

    def factor(self) -> Expr:
        token = self.peek()
        if token is None:
            raise self.fail('a predicate, "NOT" or "("')
        nests = token.kind == "(" or (token.kind == "word" and token.text.lower() == "not")
        if not nests:
            return self.predicate()
        if self.depth >= MAX_NESTING:
            raise DslError(token.column, f"nested too deeply: at most {MAX_NESTING} parentheses or NOTs")
        self.depth += 1
        try:
            return self.nested(token)
        finally:
            self.depth -= 1

    def nested(self, token: Token) -> Expr:
        """`NOT factor` or `( expr )`, starting at `token`."""
        self.pos += 1
        if token.kind != "(":
            return Not(self.factor(), token.column)
        inner = self.expr()
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise self.fail(f'")" to close the "(" at column {token.column}')
        self.pos += 1
        return inner

    def predicate(self) -> Expr:
        token = self.peek()
        assert token is not None
        if token.kind != "word":
            raise self.fail('a predicate, "NOT" or "("')
        self.pos += 1
        text = token.text
        if ":" in text:
            prefix, _, name = text.partition(":")
            return self.prefixed(prefix.lower(), name, token.column, token.column + len(prefix) + 1)
        lowered = text.lower()
        if lowered == "all":
            return All(token.column)
        if lowered in FIELDS:
            return self.comparison(lowered, token.column)
        if lowered == "product":
            raise DslError(token.column, 'product applies only after order:, as in order:paid product = "X"')
        if lowered in ("and", "or"):
            raise DslError(token.column, f'expected a predicate before "{text}"')
        raise DslError(
            token.column,
            f'unknown field or predicate "{text}": expected tag:, segment:, rfm:, has:, order:, event:, '
            f"all or a field ({', '.join(FIELDS)})",
        )

    def prefixed(self, prefix: str, name: str, column: int, name_column: int) -> Expr:
        if prefix not in PREFIXES:
            known = ", ".join(p + ":" for p in PREFIXES)
            raise DslError(column, f'unknown predicate "{prefix}:": expected {known}')
        if not name:
            what = {
                "has": "a channel",
                "order": "an order status",
                "event": "an event type",
                "rfm": "an RFM segment name",
            }.get(prefix, f"a {prefix} name")
            raise DslError(name_column, f'expected {what} after "{prefix}:"')
        if prefix == "has":
            if name.lower() not in CHANNELS:
                raise DslError(name_column, f'unknown channel "{name}": expected {", ".join(CHANNELS)}')
            return Has(name.lower(), column)
        if prefix == "order":
            if name.lower() not in ORDER_STATUSES:
                raise DslError(
                    name_column, f'unknown order status "{name}": expected {", ".join(ORDER_STATUSES)}'
                )
            return self.order(name.lower(), column)
        if prefix == "tag":
            return Tag(name, self.within(), column)
        if prefix == "event":
            return Event(name, self.within(), column)
        if prefix == "segment":
            return SegmentRef(name, column)
        return Rfm(name, column)

    def order(self, status: str, column: int) -> Order:
        """The qualifiers after `order:STATUS`, in either order: `product = "X"` and `within D`."""
        product: str | None = None
        within: timedelta | None = None
        while True:
            if product is None and self.keyword("product"):
                self.pos += 1
                op = self.peek()
                if op is None or op.kind != "op" or op.text != "=":
                    raise self.fail('"=" after "product"')
                self.pos += 1
                value = self.peek()
                if value is None or value.kind != "string":
                    raise self.fail('a "quoted" product name after "product ="')
                self.pos += 1
                product = value.text
            elif within is None and self.keyword("within"):
                within = self.within()
            else:
                return Order(status, within, product, column)

    def within(self) -> timedelta | None:
        if not self.keyword("within"):
            return None
        self.pos += 1
        token = self.peek()
        match = _DURATION.match(token.text) if token is not None and token.kind == "word" else None
        if token is None or match is None:
            raise self.fail('a duration like 7d after "within"')
        amount = int(match.group(1)) * _UNIT[match.group(2).lower()] if len(match.group(1)) < 9 else None
        if amount is None or amount > MAX_WITHIN:
            raise DslError(token.column, f'duration "{token.text}" is too long: at most {MAX_DURATION_TEXT}')
        self.pos += 1
        return amount

    def comparison(self, name: str, column: int) -> Compare:
        token = self.peek()
        if token is None or token.kind != "op":
            raise self.fail(f'a comparison operator ({" ".join(OPERATORS)}) after "{name}"')
        self.pos += 1
        op: Op = token.text  # type: ignore[assignment]
        value = self.peek()
        if name in STRING_FIELDS:
            if value is None or value.kind != "string":
                raise self.fail(f'a "quoted string" to compare {name} with')
            self.pos += 1
            return Compare(name, op, value.text, column)
        if value is None or value.kind != "word" or not _NUMBER.match(value.text):
            raise self.fail(f"a number to compare {name} with")
        number = _read_number(value.text)
        if number is None:
            raise DslError(value.column, f'number "{value.text[:40]}" is out of range (at most 64-bit)')
        self.pos += 1
        return Compare(name, op, number, column)


def _read_number(text: str) -> int | float | None:
    """An integer within 64 bits or a finite decimal (SQLite stores nothing else), else None."""
    if "." in text:
        value = float(text)
        return value if math.isfinite(value) else None
    # More than 19 digits is past 64 bits whatever they are (and int() of thousands of digits is slow).
    if len(text.lstrip("-")) > 19 or abs(int(text)) > MAX_INT:
        return None
    return int(text)


def to_text(expr: Expr) -> str:
    """Print an AST back as DSL text that parses to an equal AST (fully parenthesised)."""
    match expr:
        case All():
            return "all"
        case Tag(name, within):
            return f"tag:{name}{_within(within)}"
        case SegmentRef(name):
            return f"segment:{name}"
        case Rfm(name):
            return f"rfm:{name}"
        case Has(channel):
            return f"has:{channel}"
        case Order(status, within, product):
            return f"order:{status}{_product(product)}{_within(within)}"
        case Event(type_, within):
            return f"event:{type_}{_within(within)}"
        case Compare(name, op, value):
            if isinstance(value, str):
                return f"{name} {op} {_quoted(value)}"
            return f"{name} {op} {_number(value)}"
        case Not(item):
            return f"NOT {to_text(item)}"
        case And(items):
            return "(" + " AND ".join(to_text(i) for i in items) + ")"
        case Or(items):
            return "(" + " OR ".join(to_text(i) for i in items) + ")"
    raise TypeError(f"not a DSL node: {expr!r}")


def _product(product: str | None) -> str:
    return "" if product is None else f" product = {_quoted(product)}"


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _within(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f" within {seconds // size}{unit}"
    return f" within {seconds // 60}m"


def _number(value: int | float) -> str:
    # repr() may use an exponent, which the DSL does not read; Decimal prints the same value in full.
    # A float keeps its point, so it reads back as a float (1e20 is no 64-bit integer).
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else f"{text}.0"
