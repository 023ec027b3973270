"""Render limits: every way a short template can burn time or memory stops at the message's budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.render import Renderer, RenderLimits, TemplateProblem
from dispatcher.render_limits import (
    RenderBudget,
    RenderLimitExceeded,
    current_budget,
    describe_bytes,
)
from ritm.services import renderer
from ritm.settings import SettingsError, load_settings
from tests.render_support import ctx, inline_campaign

TIMEOUT_S = 0.3
LIMITS = RenderLimits(timeout_s=TIMEOUT_S, max_bytes=1_000_000)
SLOW = f"took longer than {TIMEOUT_S:g} s"
BIG = "produced more than 1 MB"
HUGE_NUMBER = "computes a number of more than"
BIG_STRING = "{% set big = 'x' * 100000 %}"
# Far beyond what the machine could finish (or hold) if the sandbox did not stop itself.
PATHOLOGICAL = [
    (
        "nested range loops",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        SLOW,
    ),
    (
        "nested loops over a string",
        "{% set s = 'x' * 99999 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        SLOW,
    ),
    (
        "a loop with a test",
        "{% for i in range(99999) %}{% for j in range(99999) if j < 0 %}{% endfor %}{% endfor %}",
        SLOW,
    ),
    (
        "doubly recursive macro",
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        SLOW,
    ),
    (
        "recursive loop",
        "{% for x in range(10) recursive %}{% if loop.depth < 30 %}{{ loop(range(10)) }}{% endif %}"
        "{% endfor %}",
        SLOW,
    ),
    (
        "recursive loop over strings",
        "{% for x in 'ab' recursive %}{% if loop.depth < 60 %}{{ loop('ab') }}{% endif %}{% endfor %}",
        SLOW,
    ),
    ("adding lists one by one", "{{ ([[1]] * 100000)|sum(start=[])|length }}", SLOW),
    ("sorting a long list by attribute", "{{ ([{'a': 1}] * 999999)|sort(attribute='a')|length }}", SLOW),
    ("selecting from a long list", "{{ (range(100000)|list * 9)|select('odd')|list|length }}", SLOW),
    ("pprint of a long list", "{{ (range(100000)|list * 9)|pprint|length }}", BIG),
    ("string repetition", "{{ 'x' * 10**9 }}", BIG),
    ("list repetition", "{{ ([1, 2] * 10**9)|length }}", BIG),
    ("a tower of powers", "{{ 9 ** (9 ** 9) }}", HUGE_NUMBER),
    ("a big power", "{{ (10 ** 1000) ** 1000 }}", HUGE_NUMBER),
    (
        "squaring in a loop",
        "{% set ns = namespace(x=10**100) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
        HUGE_NUMBER,
    ),
    (
        "doubling with ~",
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        BIG,
    ),
    (
        "doubling with +",
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        BIG,
    ),
    (
        "doubling a list",
        "{% set ns = namespace(s=[1]) %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        BIG,
    ),
    ("center", "{{ 'x'|center(1000000000) }}", BIG),
    ("str.ljust", "{{ 'x'.ljust(1000000000) }}", BIG),
    ("indent by a long string", BIG_STRING + "{{ ('a\n' * 50000)|indent(big) }}", BIG),
    ("wordwrap with a long wrapstring", BIG_STRING + "{{ ('a ' * 50000)|wordwrap(1, wrapstring=big) }}", BIG),
    ("replace", BIG_STRING + "{{ big|replace('x', big) }}", BIG),
    ("str.replace", BIG_STRING + "{{ big.replace('x', big) }}", BIG),
    ("join many copies", BIG_STRING + "{{ ([big] * 100000)|join }}", BIG),
    ("join with a long separator", BIG_STRING + "{{ ([1] * 100000)|join(big) }}", BIG),
    ("str.join", BIG_STRING + "{{ big.join(['x'] * 100000) }}", BIG),
    ("format filter width", "{{ '%999999999d'|format(1) }}", BIG),
    ("format filter star width", "{{ '%*d'|format(999999999, 1) }}", BIG),
    ("% width", "{{ '%999999999d' % 1 }}", BIG),
    ("str.format width", "{{ '{:>999999999}'.format(1) }}", BIG),
    ("str.format nested width", "{{ '{:>{}}'.format(1, 999999999) }}", BIG),
    ("str.expandtabs", "{{ ('\t' * 100000).expandtabs(100000) }}", BIG),
    ("str.translate", BIG_STRING + "{{ big.translate({120: big}) }}", BIG),
    ("urlize target", BIG_STRING + "{{ ('a.com ' * 20000)|urlize(target=big) }}", BIG),
    ("tojson indent", "{{ (range(100000)|list)|tojson(indent=100000) }}", BIG),
    ("batch fill", "{% for b in [1]|batch(1000000000, 0) %}{{ b|length }}{% endfor %}", BIG),
    ("lipsum", "{{ lipsum(n=100000, max=1000) }}", BIG),
    (
        "filter block",
        BIG_STRING + "{% filter upper %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endfilter %}",
        BIG,
    ),
    (
        "macro output",
        BIG_STRING
        + "{% macro m() %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endmacro %}{{ m()|length }}",
        BIG,
    ),
    (
        "set block",
        BIG_STRING + "{% set b %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endset %}{{ b|length }}",
        BIG,
    ),
    (
        "call block",
        BIG_STRING + "{% macro m() %}{{ caller() }}{% endmacro %}"
        "{% call m() %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endcall %}",
        BIG,
    ),
    ("streamed output", BIG_STRING + "{% for i in range(100000) %}{{ big }}{% endfor %}", BIG),
]


@pytest.mark.parametrize(
    ("source", "reason"), [p[1:] for p in PATHOLOGICAL], ids=[p[0] for p in PATHOLOGICAL]
)
def test_a_pathological_template_stops_at_its_limit_with_the_reason(source: str, reason: str) -> None:
    c = inline_campaign(text=f"Здравствуйте!\n{source}")
    started = time.thread_time()  # CPU time of this thread: a busy machine does not inflate it
    with pytest.raises(TemplateProblem) as caught:
        Renderer(limits=LIMITS).render(c, version="all", variant=None, channel="email", ctx=ctx())
    spent = time.thread_time() - started
    assert caught.value.template == "inline:versions.all.text"
    assert reason in caught.value.message
    assert spent < TIMEOUT_S + 1.0  # never the seconds (or the memory) the real work would take
    if caught.value.line is not None:
        assert caught.value.line >= 2  # the template's line, not the greeting before it
    assert current_budget() is None  # the budget never outlives its render


def test_templates_compile_without_running_their_filters() -> None:
    """Jinja folds constant expressions while compiling; a guarded filter refuses to run outside a
    render, so compiling `'x'|center(1000000000)` costs nothing and the render reports it."""
    r = Renderer(limits=LIMITS)
    started = time.thread_time()
    template = r.envs.inline("text", "folded", "{{ 'x'|center(1000000000) }}{{ 'a' ~ 'b' }}")
    assert time.thread_time() - started < 0.5
    with pytest.raises(TemplateProblem, match=BIG):
        r.envs.render(template, "folded", {}, RenderBudget(LIMITS))


def test_the_size_limit_counts_utf8_bytes_of_the_whole_message() -> None:
    limits = RenderLimits(timeout_s=5, max_bytes=1000)
    r = Renderer(limits=limits)
    service = {"priority": "service", "subject": "{{ 'S' * 100 }}"}
    fits = inline_campaign(text="{{ 'x' * 900 }}", **service)  # 100 + 900 bytes
    message = r.render(fits, version="all", variant=None, channel="email", ctx=ctx())
    assert len(message.subject) + len(message.text) == 1000
    over = inline_campaign(text="{{ 'x' * 901 }}", **service)
    with pytest.raises(TemplateProblem, match="produced more than 1 KB"):
        r.render(over, version="all", variant=None, channel="email", ctx=ctx())
    cyrillic = inline_campaign(text="{{ 'я' * 451 }}", **service)  # 451 characters, 902 bytes
    with pytest.raises(TemplateProblem, match="produced more than 1 KB"):
        r.render(cyrillic, version="all", variant=None, channel="email", ctx=ctx())


def test_reasonable_templates_and_the_shipped_ones_render_under_the_default_limits() -> None:
    c = inline_campaign(
        text=(
            "{% for i in range(3) %}{{ loop.index }}. {{ contact.first_name|upper|center(12) }}\n{% endfor %}"
            "{{ ['a', 'b']|join(', ') }} {{ '%05.1f'|format(3.14159) }} {{ '{:>6}'.format(42) }} "
            "{{ ([1, 2, 3]|sum) * 2 }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ ('x' ~ 'y') + 'z' }} "
            "{{ unsubscribe_url }}"
        )
    )
    text = Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx()).text
    assert text.startswith("1.     АННА    \n2.")
    assert "a, b 003.1     42 12 1024 ababab xyz https://" in text


@pytest.mark.parametrize(
    ("size", "text"), [(999, "999 bytes"), (1000, "1 KB"), (1_000_000, "1 MB"), (1_500_000, "1500 KB")]
)
def test_sizes_read_as_people_write_them(size: int, text: str) -> None:
    assert describe_bytes(size) == text


async def test_async_renders_run_on_the_render_threads_and_report_the_same_problem() -> None:
    r = Renderer(limits=LIMITS)
    try:
        ok = await r.render_async(inline_campaign(), version="all", variant=None, channel="email", ctx=ctx())
        assert ok.text.startswith("Текст")
        slow = inline_campaign(text=PATHOLOGICAL[0][1])
        with pytest.raises(TemplateProblem, match=SLOW):
            await r.check_async(slow, ctx())
    finally:
        r.close()


def test_the_limits_are_settings_passed_to_the_renderer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    defaults = renderer(load_settings()).limits
    assert (defaults.timeout_s, defaults.max_bytes) == (2.0, 1_000_000)
    monkeypatch.setenv("RITM_RENDER__TIMEOUT_S", "0.5")
    monkeypatch.setenv("RITM_RENDER__MAX_BYTES", "200000")
    limits = renderer(load_settings()).limits
    assert (limits.timeout_s, limits.max_bytes) == (0.5, 200_000)


@pytest.mark.parametrize(
    ("var", "value"), [("RITM_RENDER__TIMEOUT_S", "0"), ("RITM_RENDER__MAX_BYTES", "1MB")]
)
def test_a_bad_render_limit_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{var}:") and "\n" not in str(caught.value)


@given(
    chunks=st.lists(st.text(st.sampled_from("ab я€😀\n")), max_size=40),
    max_bytes=st.integers(min_value=0, max_value=300),
    spent=st.integers(min_value=0, max_value=300),
)
def test_collect_counts_utf8_bytes_and_stops_at_the_first_chunk_over(
    chunks: list[str], max_bytes: int, spent: int
) -> None:
    budget = RenderBudget(RenderLimits(timeout_s=5, max_bytes=max_bytes))
    budget.output = min(spent, max_bytes)  # what earlier parts of the message took
    left = max_bytes - budget.output
    sizes = [len(c.encode("utf-8")) for c in chunks]
    over = next((i for i in range(len(chunks)) if sum(sizes[: i + 1]) > left), None)
    taken: list[str] = []

    def produced() -> Iterator[str]:
        for chunk in chunks:
            taken.append(chunk)
            yield chunk

    if over is None:
        assert budget.collect(produced()) == "".join(chunks)
        assert budget.output == min(spent, max_bytes) + sum(sizes)
    else:
        with pytest.raises(RenderLimitExceeded):
            budget.collect(produced())
        assert len(taken) == over + 1  # nothing produced after the chunk that went over
