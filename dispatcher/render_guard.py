"""The sandbox that keeps a template inside its budget (see dispatcher.render_limits).

Three kinds of hooks, all cheap when the template is reasonable:
- time: every call (functions, macros, `caller()`, `loop(...)`), every filter and every few steps of
  every `for` loop (the compiled loop iterates through the budget) look at the deadline;
- size before the work: the operations whose result can be far larger than their inputs — `*`, `**`,
  `+`, `%`, string methods and filters that take a width, a separator or a replacement (`center`,
  `indent`, `wordwrap`, `format`, `replace`, `join`, `urlize`, `tojson`, `ljust`, `expandtabs`,
  `translate`…), `lipsum` — are refused when their result would exceed the budget, before they allocate;
- size after: `~`, the text a macro, `{% filter %}`, `{% set %}` or `{% call %}` block builds, and the
  result of every call and filter are checked, so repeated doubling stops at the limit.
Outside a render the guarded filters refuse to run: Jinja evaluates constant expressions while it
compiles (`{{ 'x'|center(1000000000) }}`), and that must not happen outside any budget.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import date, datetime, timedelta
from string import Formatter
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum, pass_environment
from markupsafe import Markup

from dispatcher.render_limits import RenderBudget, RenderLimitExceeded, current_budget, size_of

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_HUGE = 10**18  # a width written with more digits than this is simply too large
MAX_INT_BITS = int(sys.get_int_max_str_digits() * 3.33) if sys.get_int_max_str_digits() else 1 << 16
LIPSUM_WORD = 12  # characters a lorem-ipsum word may take, with its space and markup
# (type, attribute) answers the sandbox keeps: names come from templates; this bounds a pathological one.
SAFE_ATTRIBUTE_MEMO = 4096
PLAIN_DATA = frozenset({str, Markup, int, float, bool, type(None), datetime, date, timedelta})


# Hidden filters the compiled code calls: a colon cannot appear in a filter name a template writes.
ITER_FILTER = "ritm:budget_iter"
VALUE_FILTER = "ritm:budget_value"


def _hidden_filter(name: str, node: nodes.Node) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class GuardedCodeGenerator(CodeGenerator):
    """Compiles every loop iterable and every `~` through the budget's hidden filters."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = _hidden_filter(ITER_FILTER, loop.iter)
        for parent in list(node.find_all(nodes.Node)):
            for field, child in parent.iter_fields():
                if isinstance(child, nodes.Concat):
                    setattr(parent, field, _hidden_filter(VALUE_FILTER, child))
                elif isinstance(child, list):
                    child[:] = [
                        _hidden_filter(VALUE_FILTER, c) if isinstance(c, nodes.Concat) else c for c in child
                    ]
        super().visit_Template(node, frame)


class GuardedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox (no private attributes, no mutation of context data) under a budget."""

    code_generator_class = GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guarded(name, func) for name, func in self.filters.items()}
        self.tests = {name: _timed(func) for name, func in self.tests.items()}
        self.filters["sum"] = _budgeted_sum
        self.filters[ITER_FILTER] = _budget_iter
        self.filters[VALUE_FILTER] = _budget_value
        self.globals["lipsum"] = _lipsum
        # Whether `attribute` of an instance of a type may be read: the sandbox's answer depends only on
        # the instance's type and the name (its checks are isinstance tests and name rules), and
        # working it out is most of what an attribute read in a template costs.
        self._safe_attributes: dict[tuple[type, str], bool] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one flat dict instead of Jinja's ChainMap over the environment's:
        every part's context and every `{% import %}` walks them, and a ChainMap walks in Python. The
        environment's globals are complete once `__init__` has run and never change afterwards."""
        return {**self.globals, **(d or {})}

    # -- hooks the compiled templates call ----------------------------------------------------------

    def concat(self, parts: Iterable[str]) -> str:
        """Joins a block's output (macros, `{% filter %}`, `{% set %}`): sized before it is joined."""
        budget = current_budget()
        if budget is None:
            return "".join(parts)
        pieces = parts if isinstance(parts, list) else list(parts)
        budget.room(sum(map(len, pieces)))
        return "".join(pieces)

    # -- sandbox overrides --------------------------------------------------------------------------

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Filters like sort(attribute=…), groupby, map and select read items through these: on a
        # long list that is the only place the clock can be looked at.
        budget = current_budget()
        if budget is not None:
            budget.tick()
        # Jinja's sandboxed getattr, step for step, without its per-read calls where they cannot
        # matter: only a method can be the `str.format` the sandbox wraps, never plain data.
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        if type(value) not in PLAIN_DATA:
            wrapped = self.wrap_str_format(value)
            if wrapped is not None:
                return wrapped
        if self.is_safe_attribute(obj, attribute, value):
            return value
        return self.unsafe_undefined(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        kind = type(obj)
        if obj.__class__ is not kind:  # an object that claims another class: isinstance may ask it
            return bool(super().is_safe_attribute(obj, attr, value))
        try:
            return self._safe_attributes[kind, attr]
        except KeyError:
            safe: bool = super().is_safe_attribute(obj, attr, value)
            if len(self._safe_attributes) >= SAFE_ATTRIBUTE_MEMO:
                self._safe_attributes.clear()
            self._safe_attributes[kind, attr] = safe
            return safe

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget = current_budget()
        if budget is not None:
            budget.tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.tick()
        if isinstance(__obj, LoopContext) and args:  # `loop(children)` in a recursive loop
            args = (budget.iterate(args[0]), *args[1:])
        else:
            args = _check_method(budget, __obj, args, kwargs)
        return budget.value(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        if budget is not None:
            _check_binop(budget, operator, left, right)
        return super().call_binop(context, operator, left, right)


def _budget() -> RenderBudget:
    """The running render's budget; outside a render (constant folding at compile time) an error,
    which Jinja takes as "not a constant" and leaves the expression to run time."""
    budget = current_budget()
    if budget is None:
        raise RuntimeError("template code runs only inside a render")
    return budget


def _budget_iter(iterable: Any) -> Any:
    return _budget().iterate(iterable)


def _budget_value(value: Any) -> Any:
    return _budget().value(value)


# -- sizes of operations before they run -------------------------------------------------------------


def _int_bits(bits: int) -> None:
    """Big-integer arithmetic runs in one uninterruptible call: allow only numbers that can be
    printed (Python refuses to print an integer of more than `sys.get_int_max_str_digits()` digits)."""
    if bits > MAX_INT_BITS:
        raise RenderLimitExceeded(f"computes a number of more than {sys.get_int_max_str_digits()} digits")


def _check_binop(budget: RenderBudget, operator: str, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if operator == "*":
            _int_bits(left.bit_length() + right.bit_length())
        elif operator == "**" and right > 0 and abs(left) > 1:
            _int_bits(left.bit_length() * right)
        return
    budget.room(_binop_size(operator, left, right))


def _binop_size(operator: str, left: Any, right: Any) -> int:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(times, int) and not isinstance(times, bool) and isinstance(seq, str | list | tuple):
                return len(seq) * times
        return 0
    if operator == "+":
        return size_of(left) + size_of(right) if not isinstance(left, int) else 0
    if isinstance(left, str):  # `%` formatting
        return max(len(left), _percent_width(left, right))
    return 0


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _HUGE


def _largest_int(args: Any) -> int:
    values: Iterable[Any]
    if isinstance(args, Mapping):
        values = args.values()
    elif isinstance(args, tuple | list):
        values = args
    else:
        values = (args,)
    return max((abs(v) for v in values if isinstance(v, int)), default=0)


def _ints_fit(budget: RenderBudget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """No integer argument (a width, a count) may ask for more than the budget holds."""
    for value in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(value, int) and abs(value) > budget.max_bytes:
            budget.room(abs(value))


def _percent_width(fmt: str, args: Any) -> int:
    widest = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        for group in match.groups():
            if group == "*":
                widest = max(widest, _largest_int(args))
            elif group:
                widest = max(widest, _number(group))
    return widest


def _format_width(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """The widest field a `str.format` spec asks for (a nested `{}` width: the largest int argument)."""
    widest = 0
    try:
        fields = list(Formatter().parse(fmt))
    except ValueError:
        return 0  # the real call reports the malformed format
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            widest = max(widest, _largest_int(args), _largest_int(kwargs))
        widest = max([widest, *(_number(d) for d in _DIGITS.findall(spec))])
    return widest


def _replace_size(text: str, old: str, new: str, count: int | None) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def _join_size(separator: str, items: list[Any]) -> int:
    return len(separator) * max(0, len(items) - 1) + sum(size_of(item) for item in items)


def _check_method(
    budget: RenderBudget, func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Refuse a string method call whose result would exceed the budget (widths, joins, replaces);
    the arguments to call it with (a joined iterable is read into a list to be measured)."""
    target = getattr(func, "__wrapped__", func)  # the sandbox wraps str.format
    owner = getattr(target, "__self__", None)
    if not isinstance(owner, str | bytes | list | tuple):
        return args
    _ints_fit(budget, args, kwargs)
    name = getattr(target, "__name__", "")
    if not isinstance(owner, str):
        return args
    if name in ("format", "format_map"):
        budget.room(_format_width(owner, args, args[0] if name == "format_map" and args else kwargs))
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count")
        budget.room(_replace_size(owner, str(args[0]), str(args[1]), count))
    elif name == "join" and args:
        items = list(args[0])
        budget.room(_join_size(owner, items))
        args = (items, *args[1:])
    elif name == "expandtabs":
        budget.room(len(owner) + owner.count("\t") * _largest_int(args))
    elif name == "translate" and args and isinstance(args[0], Mapping):
        budget.room(len(owner) * max((size_of(v) for v in args[0].values()), default=1))
    return args


# -- filters -----------------------------------------------------------------------------------------

Estimate = Callable[[dict[str, Any], str], int]


def _text_size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


def _lines(value: Any) -> int:
    return (value if isinstance(value, str) else str(value)).count("\n") + 1


def _indent(a: dict[str, Any], v: str) -> int:
    width = a["width"] if isinstance(a["width"], int) else len(str(a["width"]))
    return _text_size(a[v]) + _lines(a[v]) * width


def _wordwrap(a: dict[str, Any], v: str) -> int:
    size, width = _text_size(a[v]), max(1, int(a["width"]))
    return size + (size // width + _lines(a[v])) * len(a["wrapstring"] or "\n")


def _join(a: dict[str, Any], v: str) -> int:
    a[v] = items = list(a[v])  # the filter then joins this list, not a spent iterator
    return _join_size(str(a["d"]), items)


def _urlize(a: dict[str, Any], v: str) -> int:
    text = str(a[v])
    extra = len(str(a["target"] or "")) + len(str(a["rel"] or "")) + 64
    return 3 * len(text) + len(text.split()) * extra


def _tojson(a: dict[str, Any], v: str) -> int:
    if not a["indent"]:
        return 0
    try:
        compact = len(json.dumps(a[v], default=str))
    except (TypeError, ValueError):
        return 0  # the filter reports it
    return compact * (1 + int(a["indent"]))


def _pprint(a: dict[str, Any], v: str) -> int:
    value = a[v]
    return len(value) if isinstance(value, str) else 2 * size_of(value)  # an item a line, at least


ESTIMATES: dict[str, Estimate] = {
    "center": lambda a, v: int(a["width"]),
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": lambda a, v: _replace_size(str(a[v]), str(a["old"]), str(a["new"]), a["count"]),
    "join": _join,
    "format": lambda a, v: max(
        _format_width(str(a[v]), a["args"], a["kwargs"]), _percent_width(str(a[v]), a["args"] or a["kwargs"])
    ),
    "urlize": _urlize,
    "tojson": _tojson,
    "pprint": _pprint,
}


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` under the budget: a look at the clock, no int argument beyond the budget, the filter's
    own size estimate (if it has one) before the call, and its result after."""
    estimate = ESTIMATES.get(name)
    signature = inspect.signature(func) if estimate is not None else None
    passes = hasattr(func, "jinja_pass_arg")

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        first = 2 if passes else 1
        _ints_fit(budget, args[first:], kwargs)
        if signature is not None and estimate is not None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            value_name = list(bound.arguments)[first - 1]
            budget.room(estimate(bound.arguments, value_name))
            args, kwargs = bound.args, bound.kwargs
        return budget.value(func(*args, **kwargs))

    return guarded


def _timed(func: Any) -> Callable[..., Any]:
    """A test (`odd`, `defined`, …) that looks at the clock: `select` may call it a million times."""

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        return func(*args, **kwargs)

    return timed


@pass_environment
def _budgeted_sum(environment: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """`sum` added up step by step: adding lists one by one copies quadratically, and each step must
    stay inside the budget (Python's `sum` would run to the end in one uninterruptible call)."""
    budget = _budget()
    if attribute is not None:
        getter = environment.getitem
        iterable = (getter(item, attribute) for item in iterable)
    total = start
    for item in budget.iterate(iterable):
        budget.room(_binop_size("+", total, item))
        total = total + item
    return total


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _budget().room(n * max * LIPSUM_WORD)
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)
