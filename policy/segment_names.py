"""Resolving the names a DSL expression uses against the policy: tags, named segments, RFM segments.

`resolve` turns text (or a parsed AST) into an AST whose every name exists; `segment_expr` gives the
checked AST of a named segment. The policy's `[segments]` are parsed once per distinct policy content;
a segment that fails to parse, names something unknown, sits in a cycle of `segment:` references, or
refers to such a segment is invalid, and every use of it is a `DslError` at the referring column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from policy.config import Policy, PolicyError
from policy.dsl import And, DslError, Expr, Not, Or, Rfm, SegmentRef, Tag, parse
from policy.rfm import segment_names

_LISTED = 12  # how many known names an "unknown name" error lists


@dataclass(frozen=True)
class _Catalog:
    exprs: dict[str, Expr]
    errors: dict[str, DslError]  # the segment's problem, with a column inside its own text
    origin: dict[str, str]  # invalid segment -> the segment where its root problem lives

    def cause(self, name: str) -> str:
        root = self.origin[name]
        return f"segments.{root}: {self.errors[root]}"


def resolve(expr: Expr | str, policy: Policy) -> Expr:
    """Parse `expr` when it is text and check that every tag, segment and RFM name exists."""
    tree = _parse(expr) if isinstance(expr, str) else expr
    catalog = _catalog_of(policy)
    for problem in _unknown_names(tree, policy):
        raise problem
    for node in _walk(tree):
        if isinstance(node, SegmentRef) and node.name in catalog.errors:
            raise DslError(node.column, f'segment "{node.name}" cannot be used: {catalog.cause(node.name)}')
    return tree


def segment_expr(policy: Policy, name: str) -> Expr:
    """The checked AST of the named segment `name` (call `resolve` on the referring expression first)."""
    catalog = _catalog_of(policy)
    if name in catalog.errors:
        raise DslError(1, f'segment "{name}" cannot be used: {catalog.cause(name)}')
    return catalog.exprs[name]


def check_policy_segments(policy: Policy) -> None:
    """Raise `PolicyError` for the first invalid named segment, e.g. `segments.vip: at column 5: …`."""
    catalog = _catalog_of(policy)
    for name in policy.segments:
        if name in catalog.errors:
            raise PolicyError(f"segments.{name}: {catalog.errors[name]}")


@lru_cache(maxsize=512)
def _parse(text: str) -> Expr:
    """Parsing is pure and the AST immutable: the evaluator, called per contact, parses a text once."""
    return parse(text)


def _catalog_of(policy: Policy) -> _Catalog:
    rfm_names = segment_names(policy.rfm)
    return _catalog(tuple(policy.segments.items()), tuple(policy.tags), rfm_names)


@lru_cache(maxsize=32)
def _catalog(segments: tuple[tuple[str, str], ...], tags: tuple[str, ...], rfm: tuple[str, ...]) -> _Catalog:
    texts = dict(segments)
    exprs: dict[str, Expr] = {}
    errors: dict[str, DslError] = {}
    origin: dict[str, str] = {}
    for name, text in texts.items():
        try:
            exprs[name] = parse(text)
        except DslError as exc:
            errors[name], origin[name] = exc, name
            continue
        problems = _unknown(exprs[name], set(tags), set(texts), rfm)
        if problems:
            errors[name], origin[name] = problems[0], name
    # Cycles, and segments that lean on an invalid one: depth-first over `segment:` references.
    state: dict[str, str] = {}  # name -> "open" while on the path, "done" after

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done" or name not in exprs:
            return
        state[name] = "open"
        for ref in (n for n in _walk(exprs[name]) if isinstance(n, SegmentRef)):
            if ref.name not in texts:
                continue
            if state.get(ref.name) == "open":
                cycle = [*path[path.index(ref.name) :], name, ref.name] if ref.name in path else [name, name]
                message = "cycle of segments: " + " → ".join(cycle)
                for member, target in pairwise(cycle):
                    if member not in errors:
                        errors[member] = DslError(_ref_column(exprs[member], target), message)
                        origin[member] = member
                continue
            visit(ref.name, [*path, name])
            if ref.name in errors and name not in errors:
                root = origin[ref.name]
                why = f'uses segment "{ref.name}", which cannot be used: segments.{root}: {errors[root]}'
                errors[name] = DslError(ref.column, why)
                origin[name] = root
        state[name] = "done"

    for name in texts:
        visit(name, [])
    return _Catalog(exprs={n: e for n, e in exprs.items() if n not in errors}, errors=errors, origin=origin)


def _ref_column(tree: Expr, target: str) -> int:
    return next(n.column for n in _walk(tree) if isinstance(n, SegmentRef) and n.name == target)


def _unknown_names(tree: Expr, policy: Policy) -> list[DslError]:
    return _unknown(tree, set(policy.tags), set(policy.segments), segment_names(policy.rfm))


def _unknown(tree: Expr, tags: set[str], segments: set[str], rfm: tuple[str, ...]) -> list[DslError]:
    problems = []
    for node in _walk(tree):
        if isinstance(node, Tag) and node.name not in tags:
            problems.append(DslError(node.column, f'unknown tag "{node.name}": expected {_known(tags)}'))
        elif isinstance(node, SegmentRef) and node.name not in segments:
            problems.append(
                DslError(node.column, f'unknown segment "{node.name}": expected {_known(segments)}')
            )
        elif isinstance(node, Rfm) and node.name not in rfm:
            why = f'unknown RFM segment "{node.name}": expected {_known(rfm)}'
            problems.append(DslError(node.column, why))
    return problems


def _known(names: set[str] | tuple[str, ...]) -> str:
    if not names:
        return "a name defined in the policy (it defines none)"
    listed = list(names) if isinstance(names, tuple) else sorted(names)
    more = f", … ({len(listed) - _LISTED} more)" if len(listed) > _LISTED else ""
    return "one of " + ", ".join(listed[:_LISTED]) + more


def _walk(tree: Expr) -> list[Expr]:
    """Every node of the tree, parents before children, left to right."""
    out: list[Expr] = []
    stack: list[Expr] = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, Not):
            stack.append(node.item)
        elif isinstance(node, And | Or):
            stack.extend(reversed(node.items))
    return out
