"""Hypothesis properties of `policy.decide` over random situations and steps (no storage involved).

- The planner's `Decider` (shared due times per zone, window, caps and channel) answers exactly what a
  fresh `decide` answers for every situation, whatever order they come in.
- A planned first send passes the send-time re-check at its due instant, and explain's rules all hold
  there: the planner, the worker and explain cannot disagree about that instant.
- Once the campaign has started, a contact not due now is not sent now by the re-check either.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.caps import Counted
from policy.config import CHANNELS, Cap, LocalWindow, Policy
from policy.decide import Decider, Defer, Exclude, Send, Situation, Step, caps_for, decide
from policy.due import explain_at
from policy.silence import SilenceInputs
from policy.timeutil import to_epoch
from ritm.policy_file import load_policy

DEFAULT = load_policy(None)
# A frequency choice that shuts a channel (max = 0): the one cap that binds without counted messages.
POLICY: Policy = DEFAULT.model_copy(
    update={
        "frequency_caps": {
            **DEFAULT.frequency_caps,
            "no_telegram": [Cap(max=0, per=timedelta(days=1), channel="telegram", scope="nonservice")],
        }
    }
)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday; other instants are drawn in hours around it
HOUR = timedelta(hours=1)
ZONES = (None, "Europe/Moscow", "Asia/Vladivostok", "America/New_York", "Pacific/Auckland", "UTC")
WINDOW_SEGMENTS = (None, *(name for name in POLICY.windows if name != "default"))
CAP_SEGMENTS = (*POLICY.segment_caps, *(f"pref:{name}" for name in POLICY.frequency_caps))
PROTECT = tuple(POLICY.protect.mass)


def hours(low: int, high: int) -> st.SearchStrategy[datetime]:
    return st.integers(low, high).map(lambda h: NOW + h * HOUR)


@st.composite
def situations(draw: st.DrawFn, n_channels: int, contact_id: str = "c1") -> Situation:
    has_address = tuple(draw(st.lists(st.booleans(), min_size=n_channels, max_size=n_channels)))
    reachable = tuple(has and draw(st.booleans()) for has in has_address)
    silences = None
    if draw(st.booleans()):
        epochs = st.lists(hours(-36, 36).map(to_epoch), max_size=2)
        silences = SilenceInputs(
            paid_at=draw(epochs),
            activity_ends=draw(epochs),
            offer_declined_at=draw(epochs),
            manual=[
                (to_epoch(s), to_epoch(s + draw(st.integers(1, 72)) * HOUR), blocks, "manual")
                for s, blocks in draw(
                    st.lists(st.tuples(hours(-24, 36), st.sampled_from(["mass", "all"])), max_size=2)
                )
            ],
        )
    counted = tuple(
        Counted(at, channel, priority)
        for at, channel, priority in draw(
            st.lists(
                st.tuples(hours(-72, 48), st.sampled_from(CHANNELS), st.sampled_from(["mass", "scenario"])),
                max_size=4,
            )
        )
    )
    return Situation(
        contact_id=contact_id,
        timezone=draw(st.sampled_from(ZONES)),
        has_address=has_address,
        reachable=reachable,
        protected_by=draw(st.sampled_from((None, None, None, *PROTECT))),
        window_segment=draw(st.sampled_from(WINDOW_SEGMENTS)),
        cap_segments=tuple(draw(st.lists(st.sampled_from(CAP_SEGMENTS), unique=True, max_size=2))),
        silences=silences,
        counted=counted,
        version_index=draw(st.sampled_from((None, 0, 1))),
    )


@st.composite
def first_steps(draw: st.DrawFn) -> Step:
    channels = tuple(draw(st.permutations(CHANNELS))[: draw(st.integers(1, 3))])
    start = draw(hours(-24, 48))
    windows = draw(
        st.sampled_from(
            [
                "policy",
                "policy",
                LocalWindow.model_validate({"from": "11:00", "to": "19:00", "days": "mon-fri"}),
                # Reaches into quiet hours: only quiet hours close its evenings.
                LocalWindow.model_validate({"from": "19:00", "to": "23:30"}),
            ]
        )
    )
    return Step(
        campaign_id="camp",
        kind="first",
        priority=draw(st.sampled_from(["mass", "mass", "scenario", "service"])),
        channels=channels,
        start=start,
        deadline=start + draw(st.integers(1, 24 * 10)) * HOUR,
        windows=windows,
        protect=PROTECT,
        holdout=draw(st.sampled_from([0.0, 0.3])),
        versions=("clients", "general"),
        variants=draw(st.sampled_from([(), (("A", 1.0), ("B", 1.0))])),
    )


def at_send_time(step: Step, channel: str) -> Step:
    """The row the planner would write, as the worker re-checks it."""
    return replace(step, kind="send_time", channels=(channel,))


def one_channel(s: Situation, step: Step, channel: str) -> Situation:
    i = step.channels.index(channel)
    return replace(s, has_address=(s.has_address[i],), reachable=(s.reachable[i],))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_shared_due_times_change_no_decision(data: st.DataObject) -> None:
    step = data.draw(first_steps())
    now = data.draw(hours(0, 23))
    # Variants of one situation that differ from a plain one (no silences, no counted messages) in one
    # fact each; every ordered pair goes through one Decider, so a memo hit follows each variant.
    base = data.draw(situations(len(step.channels)))
    plain = replace(base, silences=None, counted=())
    caps = data.draw(st.lists(st.sampled_from(CAP_SEGMENTS), unique=True, min_size=1, max_size=2))
    kinds = [
        plain,
        base,
        replace(plain, timezone=data.draw(st.sampled_from(ZONES))),
        replace(plain, window_segment=data.draw(st.sampled_from(WINDOW_SEGMENTS))),
        replace(plain, cap_segments=() if plain.cap_segments else tuple(caps)),
        replace(
            plain,
            has_address=(True,) * len(step.channels),
            reachable=data.draw(st.permutations(plain.reachable)),
        ),
    ]
    for first, second in itertools.permutations(kinds, 2):
        batch = [replace(first, contact_id="a"), replace(second, contact_id="b")]
        decider = Decider(step, POLICY, now)
        assert [decider.decide(s) for s in batch] == [decide(s, step, POLICY, now) for s in batch]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_planned_send_passes_the_send_time_check_and_explain_at_its_due_instant(
    data: st.DataObject,
) -> None:
    step = data.draw(first_steps())
    s = data.draw(situations(len(step.channels)))
    planned = decide(s, step, POLICY, NOW)
    if not isinstance(planned, Send):
        return
    mine = one_channel(s, step, planned.channel)
    at_due = decide(mine, at_send_time(step, planned.channel), POLICY, planned.due)
    assert at_due == Send(planned.due, planned.channel)
    if step.priority == "service":
        return
    decider = Decider(step, POLICY, NOW)
    rules = explain_at(
        planned.due,
        priority=step.priority,
        channel=planned.channel,
        tz=decider.zone(s),
        window=decider.window(s),
        quiet=POLICY.quiet_hours,
        silences=decider.silences(s),
        caps=caps_for(POLICY, s.cap_segments),
        counted=s.counted,
        start=step.start,
        deadline=step.deadline,
    )
    assert all(rule.ok for rule in rules), rules


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_once_started_the_send_time_check_sends_now_exactly_when_the_plan_is_due_now(
    data: st.DataObject,
) -> None:
    step = data.draw(first_steps())
    now = data.draw(hours(0, 23))
    step = replace(step, start=min(step.start, now), deadline=max(step.deadline or now, now + HOUR))
    s = data.draw(situations(len(step.channels)))
    planned = decide(s, step, POLICY, now)
    if isinstance(planned, Send):
        channel = planned.channel
    elif planned.reason in ("no_address", "no_consent") or planned.reason.startswith("protected:"):
        # Exclusions that hold whatever the instant: every channel's re-check gives the same reason.
        for channel in step.channels:
            again = decide(one_channel(s, step, channel), at_send_time(step, channel), POLICY, now)
            assert isinstance(again, Exclude)
            if planned.reason.startswith("protected:"):
                assert again.reason in ("no_address", "no_consent", planned.reason)
        return
    else:
        channel = Decider(step, POLICY, now).channel(s) or step.channels[0]
    checked = decide(one_channel(s, step, channel), at_send_time(step, channel), POLICY, now)
    due_now = isinstance(planned, Send) and planned.due == now
    assert isinstance(checked, Send) == due_now, (planned, checked)
    if not isinstance(checked, Send | Defer):
        assert checked.reason.split(":")[0] in ("silence", "cap", "no_window"), (planned, checked)
