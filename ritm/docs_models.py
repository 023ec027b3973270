"""Reading a file schema's keys off its pydantic models: name, type, default, meaning, where it sits.

The reference pages in docs/ are generated from what this finds, so a key added to a model shows up
there (and the freshness test fails until `make docs` is run). A key's meaning is the docstring under
its field; the model's own docstring introduces its table.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
import types
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from policy.timeutil import format_duration


@dataclass(frozen=True)
class Key:
    toml: str  # the key as written in the file
    type: str
    default: str  # "required", or the default as TOML
    meaning: str
    path: tuple[str, ...]  # where `key_lines` finds it in a file (array entries as "0")


@dataclass(frozen=True)
class Table:
    header: str  # `[event]`, `[[variants]]`, `[tags.NAME]`, or "" for the top level
    intro: str
    keys: list[Key]


@cache
def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """The docstring under each field of `model`'s own class body (`name: T` then `\"\"\"…\"\"\"`)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            found[stmt.target.id] = " ".join(nxt.value.value.split())
    return found


def _strip(tp: Any) -> Any:
    """The type under `Annotated[...]` and without `None`."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def type_text(tp: Any) -> str:
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin is Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(type_text(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        if origin is tuple and len(set(args)) == 1:
            return f"[{', '.join(type_text(a) for a in args)}]"
        return f"list of {type_text(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {type_text(get_args(tp)[1])} by name"
    if _is_model(tp) or (isinstance(tp, type) and issubclass(tp, dict)):
        return "table"
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        timedelta: 'duration (`"90m"`, `"24h"`, `"7d"`, `"2w"`)',
        datetime: "date-time (ISO-8601)",
    }
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        if any(isinstance(v, BaseModel) for v in value):
            return "see the shipped default"
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else "see the shipped default"
    if isinstance(value, BaseModel):
        return "its table's defaults"
    return str(value)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "—" if value is None else toml_value(value)


def _nested(tp: Any) -> tuple[str, type[BaseModel]] | None:
    """How a nested model is written: `table`, `array` (`[[x]]`), `named` (`[x.NAME]`),
    `named_array` (`[[x.NAME]]`) or `inline` (a model inside a union: `x = { … }`)."""
    tp = _strip(tp)
    origin = get_origin(tp)
    if _is_model(tp):
        return "table", tp
    if origin is list and _is_model(_strip(get_args(tp)[0])):
        return "array", _strip(get_args(tp)[0])
    if origin is dict:
        inner = _strip(get_args(tp)[1])
        if _is_model(inner):
            return "named", inner
        if get_origin(inner) is list and _is_model(_strip(get_args(inner)[0])):
            return "named_array", _strip(get_args(inner)[0])
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            if _is_model(arg):
                return "inline", arg
    return None


def tables(model: type[BaseModel], prefix: tuple[str, ...] = (), header: str = "") -> list[Table]:
    """`model`'s keys as one table, then each nested model's table, depth first in field order."""
    docs = field_docs(model)
    keys: list[Key] = []
    below: list[Table] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        toml = field.alias or name
        path = (*prefix, toml)
        keys.append(Key(toml, type_text(field.annotation), default_text(field), docs.get(name, ""), path))
        nested = _nested(field.annotation)
        if nested is None:
            continue
        how, inner = nested
        dotted = ".".join(path)
        sub_header, sub_prefix = {
            "table": (f"[{dotted}]", path),
            "array": (f"[[{dotted}]]", (*path, "0")),
            "named": (f"[{dotted}.NAME]", (*path, "NAME")),
            "named_array": (f"[[{dotted}.NAME]]", (*path, "NAME", "0")),
            "inline": (f"{dotted} = {{ … }}", path),
        }[how]
        below += tables(inner, sub_prefix, sub_header)
    own = model.__dict__.get("__doc__") or ""  # not BaseModel's, for a model without a docstring
    intro = " ".join(own.split()) if header else ""
    return [Table(header, intro, keys), *below]
