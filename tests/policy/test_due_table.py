"""Table tests for the due-time search, the exclusion order and the explain helper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from policy.caps import Counted
from policy.config import Cap, LocalWindow, Policy, QuietHours
from policy.due import Due, Excluded, RuleVerdict, classify, due_time, due_time_key, explain_at
from policy.silence import SilenceWindow

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Friday
DEADLINE = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
WORKED_QUIET = QuietHours.model_validate({"from": "21:00", "to": "09:00"})
DAILY = Cap(max=1, per=timedelta(days=1), channel="any", scope="mass")


def win(start: str, end: str, days: str = "mon-sun") -> LocalWindow:
    return LocalWindow.model_validate({"from": start, "to": end, "days": days})


def due(**changes: object) -> Due | Excluded:
    args: dict[str, object] = {
        "priority": "mass",
        "channel": "email",
        "tz": MOSCOW,
        "window": win("10:00", "20:00"),
        "quiet": WORKED_QUIET,
        "silences": [],
        "caps": [],
        "counted": [],
        "start": AT,
        "deadline": DEADLINE,
        "at": AT,
    }
    args.update(changes)
    return due_time(**args)  # type: ignore[arg-type]


def test_champions_window_is_cut_to_nine_to_ten_by_quiet_hours(worked_policy: Policy) -> None:
    champions = worked_policy.windows["champions"]
    assert due(window=champions, quiet=worked_policy.quiet_hours) == Due(
        datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    )
    at_nine_thirty = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)  # 09:30 Moscow
    assert due(window=champions, quiet=worked_policy.quiet_hours, start=at_nine_thirty) == Due(at_nine_thirty)
    at_ten = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
    sunday_nine = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert due(window=champions, quiet=worked_policy.quiet_hours, start=at_ten) == Due(sunday_nine)


def test_kathmandu_nine_o_clock_is_three_fifteen_utc(worked_policy: Policy) -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")
    result = due(tz=kathmandu, window=worked_policy.windows["champions"], quiet=worked_policy.quiet_hours)
    assert result == Due(datetime(2026, 11, 21, 3, 15, tzinfo=UTC))


@pytest.mark.parametrize(
    ("zone", "segment", "expected"),
    [  # due times of the worked example's expected.json
        ("Asia/Vladivostok", "champions", "2026-11-20T23:00:00+00:00"),
        ("Asia/Vladivostok", "default", "2026-11-21T00:00:00+00:00"),
        ("America/New_York", "default", "2026-11-20T15:00:00+00:00"),
        ("America/New_York", "loyal", "2026-11-20T17:00:00+00:00"),
        ("Europe/Moscow", "loyal", "2026-11-23T09:00:00+00:00"),  # Friday's window has passed; Monday's
        ("Europe/Moscow", "default", "2026-11-20T12:00:00+00:00"),
    ],
)
def test_worked_example_due_times(worked_policy: Policy, zone: str, segment: str, expected: str) -> None:
    result = due(tz=ZoneInfo(zone), window=worked_policy.windows[segment], quiet=worked_policy.quiet_hours)
    assert result == Due(datetime.fromisoformat(expected))


def test_start_and_at_both_bound_the_search() -> None:
    later = AT + timedelta(hours=2)
    assert due(start=later) == Due(later)
    assert due(at=later) == Due(later)
    assert due(start=DEADLINE, at=AT) == Excluded("no_window")


def test_no_window_before_the_deadline() -> None:
    assert due(window=win("02:00", "05:00")) == Excluded("no_window")  # wholly inside quiet hours
    assert due(deadline=AT + timedelta(hours=10)) == Due(AT)
    assert due(window=win("12:00", "14:00", "sat"), deadline=AT + timedelta(hours=10)) == Excluded(
        "no_window"
    )


def test_silence_defers_then_excludes() -> None:
    paid = SilenceWindow(AT - timedelta(hours=1), AT + timedelta(hours=23), "mass", "after_payment")
    assert due(silences=[paid]) == Due(AT + timedelta(hours=23))  # 14:00 → Saturday 14:00 Moscow
    long = SilenceWindow(AT - timedelta(hours=1), DEADLINE, "mass", "manual")
    assert due(silences=[long]) == Excluded("silence")
    # Scenario messages pass mass-only silences but not `blocks = "all"` ones.
    assert due(priority="scenario", silences=[long]) == Due(AT)
    assert due(priority="scenario", silences=[SilenceWindow(AT, DEADLINE, "all", "manual")]) == Excluded(
        "silence"
    )


def test_back_to_back_silences_are_crossed_together() -> None:
    first = SilenceWindow(AT, AT + timedelta(hours=2), "mass", "after_payment")
    second = SilenceWindow(AT + timedelta(hours=2), AT + timedelta(hours=4), "mass", "after_offer_declined")
    assert due(silences=[second, first]) == Due(AT + timedelta(hours=4))


def test_full_cap_defers_to_release_then_excludes() -> None:
    sent = Counted(AT - timedelta(hours=3), "telegram", "mass")
    assert due(caps=[DAILY], counted=[sent]) == Due(AT + timedelta(hours=21))  # 09:00 UTC = 12:00 Moscow
    assert due(caps=[DAILY], counted=[sent], deadline=AT + timedelta(hours=20)) == Excluded("cap")
    # The cap counts only its scope and channel.
    assert due(caps=[DAILY], counted=[Counted(sent.at, "email", "scenario")]) == Due(AT)
    email_only = Cap(max=1, per=timedelta(days=1), channel="email", scope="nonservice")
    assert due(caps=[email_only], counted=[sent]) == Due(AT)
    assert due(caps=[Cap(max=0, per=timedelta(days=1))]) == Excluded("cap")


def test_reason_is_silence_when_silence_covers_everything_a_cap_would_also_block() -> None:
    sent = Counted(AT - timedelta(hours=3), "email", "mass")
    silence = SilenceWindow(AT - timedelta(days=1), DEADLINE, "mass", "manual")
    assert due(caps=[DAILY], counted=[sent], silences=[silence]) == Excluded("silence")
    shorter = SilenceWindow(AT - timedelta(days=1), AT + timedelta(hours=1), "mass", "manual")
    assert due(
        caps=[DAILY], counted=[sent], silences=[shorter], deadline=AT + timedelta(hours=5)
    ) == Excluded("cap")


def test_service_ignores_windows_quiet_hours_silences_and_caps() -> None:
    night = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 02:00 Moscow, in quiet hours
    shut = Cap(max=0, per=timedelta(days=1), scope="nonservice")
    silence = SilenceWindow(AT, DEADLINE, "all", "manual")
    assert due(priority="service", start=night, caps=[shut], silences=[silence]) == Due(night)
    assert due(priority="service", start=DEADLINE) == Excluded("no_window")


def test_inputs_in_other_offsets_give_utc_results() -> None:
    start = datetime(2026, 11, 20, 15, 0, tzinfo=ZoneInfo("Europe/Moscow"))  # 12:00 UTC
    result = due(start=start, at=start)
    assert result == Due(AT)
    assert isinstance(result, Due) and result.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("has_address", "has_consent", "protected_by", "given", "expected"),
    [
        (False, False, "pending_order", Excluded("no_window"), Excluded("no_address")),
        (True, False, "pending_order", None, Excluded("no_consent")),
        (True, True, "pending_order", None, Excluded("protected:pending_order")),
        (True, True, None, Excluded("silence"), Excluded("silence")),
        (True, True, None, Due(AT), Due(AT)),
    ],
)
def test_exclusion_order(
    has_address: bool,
    has_consent: bool,
    protected_by: str | None,
    given: Due | Excluded | None,
    expected: object,
) -> None:
    assert (
        classify(has_address=has_address, has_consent=has_consent, protected_by=protected_by, due=given)
        == expected
    )


def test_classify_needs_a_due_for_an_eligible_contact() -> None:
    with pytest.raises(ValueError, match="needs a due time"):
        classify(has_address=True, has_consent=True, protected_by=None, due=None)


def test_memo_key_tells_apart_what_changes_the_answer() -> None:
    def key(window: LocalWindow, at: datetime) -> object:
        return due_time_key(tz=MOSCOW, window=window, quiet=WORKED_QUIET, start=AT, deadline=DEADLINE, at=at)

    daily = win("10:00", "20:00")
    assert key(daily, AT) == key(win("10:00", "20:00"), AT - timedelta(hours=1))  # at before start: same
    assert key(daily, AT) != key(daily, AT + timedelta(hours=1))
    assert key(daily, AT) != key(win("10:00", "20:00", "mon-fri"), AT)


def test_explain_names_each_rule() -> None:
    sent = Counted(AT - timedelta(hours=3), "email", "mass")
    silence = SilenceWindow(AT - timedelta(hours=1), AT + timedelta(hours=5), "mass", "after_payment")
    verdicts = explain_at(
        AT,
        priority="mass",
        channel="email",
        tz=MOSCOW,
        window=win("10:00", "20:00"),
        quiet=WORKED_QUIET,
        silences=[silence],
        caps=[DAILY, Cap(max=3, per=timedelta(days=5), scope="nonservice")],
        counted=[sent],
        start=AT,
        deadline=DEADLINE,
    )
    assert [(v.rule, v.ok) for v in verdicts] == [
        ("period", True),
        ("window", True),
        ("quiet_hours", True),
        ("silence", False),
        ("cap", False),
        ("cap", True),
    ]
    assert "after_payment" in verdicts[3].detail and "2026-11-20T17:00:00+00:00" in verdicts[3].detail
    assert "Fri 15:00" in verdicts[1].detail  # local time in Moscow
    night = explain_at(
        datetime(2026, 11, 20, 19, 0, tzinfo=UTC),
        priority="scenario",
        channel="email",
        tz=MOSCOW,
        window=win("10:00", "20:00"),
        quiet=WORKED_QUIET,
        silences=[silence],
        caps=[DAILY],
        counted=[sent],
    )
    assert [(v.rule, v.ok) for v in night] == [("window", False), ("quiet_hours", False), ("silence", True)]


def test_explain_for_service() -> None:
    verdicts = explain_at(
        AT,
        priority="service",
        channel="email",
        tz=MOSCOW,
        window=win("10:00", "20:00"),
        quiet=WORKED_QUIET,
        silences=[],
        caps=[DAILY],
        counted=[],
    )
    assert verdicts == [
        RuleVerdict("service", True, "service messages ignore windows, quiet hours, silences and caps")
    ]
