"""The DSL parser: precedence, parentheses, keywords in any case, printing back, and every error's column."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings

from policy.dsl import (
    All,
    And,
    Compare,
    DslError,
    Event,
    Expr,
    Has,
    Not,
    Or,
    Order,
    Rfm,
    SegmentRef,
    Tag,
    parse,
    to_text,
)
from tests.segments_support import expressions

A, B, C = Tag("a"), Tag("b"), Tag("c")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("tag:a OR tag:b AND tag:c", Or((A, And((B, C))))),
        ("tag:a AND tag:b OR tag:c", Or((And((A, B)), C))),
        ("(tag:a OR tag:b) AND tag:c", And((Or((A, B)), C))),
        ("NOT tag:a AND tag:b", And((Not(A), B))),
        ("NOT (tag:a AND tag:b)", Not(And((A, B)))),
        ("NOT NOT tag:a", Not(Not(A))),
        ("tag:a OR tag:b OR tag:c", Or((A, B, C))),
        ("tag:a AND tag:b AND tag:c", And((A, B, C))),
        ("((tag:a))", A),
        ("not tag:a and tag:b or tag:c", Or((And((Not(A), B)), C))),
        ("NoT tag:a AnD tag:b", And((Not(A), B))),
        ("ALL", All()),
        ("tag:a WITHIN 7D", Tag("a", timedelta(days=7))),
        ("tag:a within 90m", Tag("a", timedelta(minutes=90))),
        ("TAG:a", A),
        ("segment:new_in_funnel", SegmentRef("new_in_funnel")),
        ("rfm:champions", Rfm("champions")),
        ("has:EMAIL", Has("email")),
        ("order:Paid within 2w", Order("paid", timedelta(weeks=2))),
        ("order:refunded", Order("refunded")),
        ('order:paid product = "Курс X" within 365d', Order("paid", timedelta(days=365), "Курс X")),
        ('order:paid within 365d PRODUCT = "Курс X"', Order("paid", timedelta(days=365), "Курс X")),
        ('order:pending product = ""', Order("pending", None, "")),
        ("event:webinar_attended within 24h", Event("webinar_attended", timedelta(hours=24))),
        ("paid_total >= 5000", Compare("paid_total", ">=", 5000)),
        ("paid_total>=5000", Compare("paid_total", ">=", 5000)),
        ("Monetary < 99.5", Compare("monetary", "<", 99.5)),
        ("created_days > -1", Compare("created_days", ">", -1)),
        ('region = "Урал"', Compare("region", "=", "Урал")),
        ('interest != "a \\"b\\" \\\\ c"', Compare("interest", "!=", 'a "b" \\ c')),
        ('timezone = ""', Compare("timezone", "=", "")),
        ("r >= 4 AND f <= 2", And((Compare("r", ">=", 4), Compare("f", "<=", 2)))),
    ],
)
def test_parses(text: str, tree: Expr) -> None:
    assert parse(text) == tree


def test_nodes_remember_their_columns() -> None:
    tree = parse("tag:a AND NOT  has:sms")
    assert isinstance(tree, And)
    assert [tree.items[0].column, tree.items[1].column] == [1, 11]
    negated = tree.items[1]
    assert isinstance(negated, Not) and negated.item.column == 16


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("", 1, "the expression is empty"),
        ("   ", 1, "the expression is empty"),
        ("tag:a AND", 10, 'expected a predicate, "NOT" or "(" but the expression ends'),
        ("tag:a OR OR tag:b", 10, 'expected a predicate before "OR"'),
        ("(tag:a", 7, 'expected ")" to close the "(" at column 1'),
        ("tag:a)", 6, 'expected "AND", "OR" or the end of the expression, found ")"'),
        ("tag:a tag:b", 7, 'expected "AND", "OR" or the end of the expression, found "tag:b"'),
        ("tag:marathon within", 20, 'expected a duration like 7d after "within"'),
        ("tag:marathon within 7", 21, 'expected a duration like 7d after "within", found "7"'),
        ("tag:marathon within 7y", 21, 'expected a duration like 7d after "within"'),
        ("tag:x within 99999999w", 14, "too long"),
        ("segment:a within 7d", 11, '"within" applies only to tag:, order: and event:'),
        ("tag:", 5, 'expected a tag name after "tag:"'),
        ("event:", 7, 'expected an event type after "event:"'),
        ("rfm:", 5, 'expected an RFM segment name after "rfm:"'),
        ("has:", 5, 'expected a channel after "has:"'),
        ("has:fax", 5, 'unknown channel "fax": expected email, telegram, sms'),
        ("order:shipped", 7, 'unknown order status "shipped"'),
        ('order:paid product "X"', 20, 'expected "=" after "product", found "X"'),
        ("order:paid product = X", 22, 'expected a "quoted" product name after "product =", found "X"'),
        ('product = "X"', 1, 'product applies only after order:, as in order:paid product = "X"'),
        ('tag:a product = "X"', 7, 'expected "AND", "OR" or the end of the expression, found "product"'),
        ("foo:bar", 1, 'unknown predicate "foo:"'),
        ("paid_totl > 5", 1, 'unknown field or predicate "paid_totl"'),
        ("paid_total", 11, "expected a comparison operator"),
        ("paid_total 5", 12, 'expected a comparison operator (= != < <= > >=) after "paid_total", found "5"'),
        ("paid_total >", 13, "expected a number to compare paid_total with but the expression ends"),
        ('paid_total > "5"', 14, 'expected a number to compare paid_total with, found "5"'),
        ("paid_total > 1e5", 14, "expected a number"),
        ("region = Урал", 10, 'expected a "quoted string" to compare region with'),
        ('region = "Урал', 10, "unterminated string"),
        ("tag:a & tag:b", 7, 'unexpected character "&"'),
        ("paid_total => 5", 13, "expected a number"),
    ],
)
def test_errors_name_the_column_and_what_was_expected(text: str, column: int, expected: str) -> None:
    with pytest.raises(DslError) as info:
        parse(text)
    assert info.value.column == column
    assert str(info.value).startswith(f"at column {column}: ")
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


@settings(max_examples=300)
@given(expressions())
def test_printing_and_parsing_round_trip(tree: Expr) -> None:
    assert parse(to_text(tree)) == tree


def test_printed_floats_never_use_an_exponent() -> None:
    assert to_text(Compare("monetary", ">", 1e-05)) == "monetary > 0.00001"
    assert parse(to_text(Compare("monetary", ">", 1e20))) == Compare("monetary", ">", 1e20)
