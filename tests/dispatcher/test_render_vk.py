"""VK parts: `vk.j2` (plain text with link buttons, locale variants), the email text when a template has
none, and the dry run's check of VK's length limit."""

from __future__ import annotations

import pytest

from dispatcher.render import Renderer, TemplateProblem
from storage.outbox import REMINDER_STEP
from tests.render_support import campaign, ctx, example, inline_campaign


def reminder(locale: str) -> tuple[str, list[tuple[str, str]]]:
    message = Renderer().render(
        example("webinar.toml"),
        version="invite",
        variant=None,
        channel="vk",
        ctx=ctx(locale=locale),
        step=REMINDER_STEP + 1,
    )
    assert message.telegram is None and message.html is None
    return message.text, message.buttons


def test_the_reminder_speaks_plain_text_with_link_buttons_in_the_readers_language() -> None:
    russian, buttons = reminder("ru")
    assert russian.startswith("⏰ Начинаем через 2 часа:") and "<" not in russian
    assert [label for label, _ in buttons] == ["Присоединиться", "Добавить в календарь"]
    assert all(url.startswith("https://") for _, url in buttons)
    english, buttons = reminder("en")
    assert english.startswith("⏰ Starting in 2 hours:")
    assert [label for label, _ in buttons] == ["Join", "Add to calendar"]


def test_without_a_vk_part_the_email_text_goes() -> None:
    campaign = inline_campaign(text="Привет, {{ contact.first_name }}!")
    message = Renderer().render(campaign, version="all", variant=None, channel="vk", ctx=ctx())
    assert (message.text, message.buttons) == ("Привет, Анна!", [])


def test_the_dry_run_refuses_a_vk_message_over_4096_characters() -> None:
    text = """
id = "long-vk"
name = "Long"
priority = "mass"
channels = ["vk"]
audience = "all"
start = "2026-11-25T09:00:00+03:00"
deadline = "2026-11-27T21:00:00+03:00"
[[versions]]
segment = "all"
subject = "Тема"
text = "Коротко"
vk = "{{ 'я' * 5000 }}"
"""
    with pytest.raises(TemplateProblem, match="5000 characters, over VK's 4096"):
        Renderer().check(campaign(text), ctx())
