"""The shipped templates through the example campaigns: every version previews, and reads right."""

from __future__ import annotations

import pytest

from dispatcher.render import Renderer, sample_context
from dispatcher.render_telegram import markup_problem, telegram_length
from tests.render_support import EXAMPLES, campaign, ctx, example

SAMPLE = sample_context("Europe/Moscow")


@pytest.mark.parametrize("name", ["digest.toml", "webinar.toml", "service.toml"])
def test_each_example_passes_check_and_previews_every_version(name: str) -> None:
    c = example(name)
    r = Renderer()
    r.check(c, SAMPLE)
    for version in c.versions:
        for channel in c.channels:
            msg = r.preview(c, version.name, channel, SAMPLE)
            assert msg.subject.strip() and "Анна" in msg.text
            assert "{{" not in msg.text and "{%" not in msg.text
            if channel == "email":
                assert msg.html is not None and msg.html.startswith("<!DOCTYPE html>")
                assert SAMPLE.unsubscribe_url in msg.text and SAMPLE.unsubscribe_url in msg.html
                assert f'<img src="{SAMPLE.open_pixel_url}"' in msg.html
            else:
                assert msg.telegram is not None and markup_problem(msg.telegram) is None
                assert telegram_length(msg.telegram) < 1500


def test_digest_versions_share_a_skeleton_with_segment_add_ons() -> None:
    c, r = example("digest.toml"), Renderer()
    texts = {v.name: r.preview(c, v.name, "email", SAMPLE).text for v in c.versions}
    assert "ДЛЯ СТУДЕНТОВ ШКОЛЫ" in texts["clients"] and "ДЛЯ СТУДЕНТОВ" not in texts["general"]
    assert "Вы читаете нас весь месяц" in texts["warm"] and "Вы читаете нас" not in texts["general"]
    for text in texts.values():  # the shared skeleton: the same three items and the same footer
        assert "РАЗБОР" in text and "ЧЕК-ЛИСТ" in text and "ЗАПИСЬ ЭФИРА" in text
        assert text.endswith(f"Отписаться: {SAMPLE.unsubscribe_url}")
    assert "тему «как вернуть учеников" in texts["general"]  # the contact's interest
    sleepy = r.render(c, version="general", variant="A", channel="email", ctx=ctx(rfm_segment="at_risk"))
    assert "Давно не виделись" in sleepy.text and "Давно не виделись" not in texts["general"]
    tg = r.preview(c, "clients", "telegram", SAMPLE)
    assert tg.buttons == [("Открыть подборку", "https://school.example/blog/sleeping-students-case")]
    b = r.render(c, version="general", variant="B", channel="telegram", ctx=SAMPLE)
    assert b.telegram is not None and b.telegram.startswith("<b>Анна, три материала недели")


def test_webinar_invitation_has_local_time_join_and_calendar() -> None:
    c, r = example("webinar.toml"), Renderer()
    far_east = ctx(timezone="Asia/Vladivostok", region="Приморье", rfm_segment="champions")
    msg = r.render(c, version="invite", variant="A", channel="email", ctx=far_east)
    assert msg.subject == "Анна, приглашаем на эфир «База как актив: сегменты, частота и деньги» — 28 ноября"
    assert "28 ноября в 02:00 (МСК+7) — время для вас (Приморье)" in msg.text
    assert msg.html is not None
    assert "https://calendar.google.com/calendar/render?" in msg.html and "Outlook" in msg.html
    assert 'href="https://school.example/live/base-asset/register"' in msg.html
    assert "отдельные пятнадцать минут" in msg.text  # the champions' add-on


def test_cascade_follow_up_is_telegram_with_buttons() -> None:
    c, r = example("webinar.toml"), Renderer()
    msg = r.render(c, version="invite", variant="A", channel="telegram", ctx=SAMPLE, step=1)
    assert msg.telegram is not None and "вдруг пропустили приглашение" in msg.telegram
    assert [label for label, _ in msg.buttons] == [
        "Зарегистрироваться",
        "Присоединиться",
        "Добавить в календарь",
    ]
    assert "почт" not in msg.telegram  # never points to another channel the contact may have left
    assert msg.tags["template"] == "webinar_followup" and msg.tags["step"] == "1"


@pytest.mark.parametrize(
    ("step", "subject"),
    [
        (100, "Через два дня — эфир «База как актив: сегменты, частота и деньги»"),
        (101, "Завтра в 19:00 — эфир «База как актив: сегменты, частота и деньги»"),
        (102, "Начинаем через 2 часа: «База как актив: сегменты, частота и деньги»"),
    ],
)
def test_reminder_wording_follows_the_offset(step: int, subject: str) -> None:
    text = (EXAMPLES / "webinar.toml").read_text(encoding="utf-8")
    c, r = campaign(text.replace('reminders = ["24h", "2h"]', 'reminders = ["48h", "24h", "2h"]')), Renderer()
    email = r.render(c, version="invite", variant=None, channel="email", ctx=SAMPLE, step=step)
    assert email.subject == subject
    assert email.tags["template"] == "webinar_reminder"
    tg = r.render(c, version="invite", variant=None, channel="telegram", ctx=SAMPLE, step=step)
    assert [label for label, _ in tg.buttons] == ["Присоединиться", "Добавить в календарь"]
    assert tg.buttons[0][1] == "https://school.example/live/base-asset/room"


def test_service_notice_names_the_new_time() -> None:
    c, r = example("service.toml"), Renderer()
    msg = r.preview(c, "notice", "telegram", SAMPLE)
    assert (
        msg.subject == "Важно: эфир «База как актив: сегменты, частота и деньги» переносится на 19:00 (МСК)"
    )
    assert msg.telegram is not None and "<b>27 ноября в 19:00 (МСК)</b>" in msg.telegram
    tracked = r.render(
        c, version="notice", variant=None, channel="telegram", ctx=ctx(event_url="https://t.example/c/join")
    )
    assert tracked.buttons[0] == ("Присоединиться", "https://t.example/c/join")


def test_unknown_steps_and_channels_are_errors() -> None:
    c, r = example("webinar.toml"), Renderer()
    with pytest.raises(ValueError, match="no cascade step 2"):
        r.render(c, version="invite", variant=None, channel="telegram", ctx=SAMPLE, step=2)
    with pytest.raises(ValueError, match="no reminder step 103"):
        r.render(c, version="invite", variant=None, channel="telegram", ctx=SAMPLE, step=103)
    with pytest.raises(ValueError, match="unknown channel"):
        r.render(c, version="invite", variant=None, channel="fax", ctx=SAMPLE)
    with pytest.raises(ValueError, match="no version 'nope'"):
        r.render(c, version="nope", variant=None, channel="email", ctx=SAMPLE)
