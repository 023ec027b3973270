"""Locale variants of templates: a message speaks one language, its dates and phrases included.

Today's demo sent an English reader «Начинаем in 2 hours»: a Russian subject with an English phrase
inside. Now the contact's language picks the template variant (`subject.en.j2`, `email.en.txt.j2`…),
falling back to the campaign's `locale`, and every date and phrase follows the variant chosen.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dispatcher.render import Renderer, TemplateProblem
from storage.outbox import REMINDER_STEP
from tests.render_support import campaign, ctx, example

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
TWO_HOURS = REMINDER_STEP + 1  # the webinar example's second reminder: 2 h before the start


def reminder(locale: str, channel: str = "email", timezone: str = "Europe/Moscow") -> tuple[str, str]:
    message = Renderer().render(
        example("webinar.toml"),
        version="invite",
        variant=None,
        channel=channel,
        ctx=ctx(locale=locale, timezone=timezone, name="Anna Smith"),
        step=TWO_HOURS,
    )
    return message.subject, message.telegram if channel == "telegram" else message.text


def test_an_english_reader_gets_the_english_variant_with_english_dates() -> None:
    subject, text = reminder("en", timezone="Asia/Vladivostok")
    assert subject == "Starting in 2 hours: «База как актив: сегменты, частота и деньги»"
    assert "We start in 2 hours." in text
    assert "November 28 at 2:00" in text and "(GMT+10)" in text
    assert "Unsubscribe:" in text
    # Only the event's own (Russian) title may be Cyrillic: nothing of the template's wording.
    title = "База как актив: сегменты, частота и деньги"
    assert not CYRILLIC.search(text.replace(title, "").replace("Анна", ""))


def test_a_russian_reader_and_a_reader_without_a_variant_get_russian_throughout() -> None:
    for locale in ("ru", "ru_RU", "de", ""):  # no German variant: the campaign's locale (ru)
        subject, text = reminder(locale)
        assert subject == "Начинаем через 2 часа: «База как актив: сегменты, частота и деньги»", locale
        assert "27 ноября в 19:00 (МСК)" in text
        assert not re.search(r"\b(in|hours|November|PM|AM)\b", subject + text), locale


def test_telegram_variants_too() -> None:
    _, english = reminder("en", channel="telegram")
    assert english.startswith("⏰ <b>Starting in 2 hours:")
    _, russian = reminder("ru", channel="telegram")
    assert russian.startswith("⏰ <b>Начинаем через 2 часа:")


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


SCHOOL_CAMPAIGN = """\
id = "kz-live"
name = "Эфир"
priority = "mass"
channels = ["email"]
audience = "all"
start = "2026-11-25T09:00:00+03:00"
deadline = "2026-11-27T21:00:00+03:00"
{locale}
[[versions]]
segment = "all"
template = "live"

[event]
title = "Live"
starts_at = "2026-11-27T19:00:00+03:00"
url = "https://school.example/live"
"""


def test_a_school_language_and_the_campaign_locale(tmp_path: Path) -> None:
    write(tmp_path, "live/subject.j2", "Live {{ event.local_date }}")
    write(tmp_path, "live/email.txt.j2", "{{ event.local_start }} {{ unsubscribe_url }}")
    write(tmp_path, "live/subject.kk.j2", "Эфир {{ event.local_date }}")
    write(tmp_path, "live/email.kk.txt.j2", "{{ event.local_start }} {{ unsubscribe_url }}")
    renderer = Renderer(tmp_path)
    english = campaign(SCHOOL_CAMPAIGN.format(locale='locale = "en"'))
    kazakh = renderer.render(english, version="all", variant=None, channel="email", ctx=ctx(locale="kk"))
    assert kazakh.subject == "Эфир 27 қараша"  # Babel's Kazakh month
    assert kazakh.text.startswith("27 қараша, 19:00 (GMT+3)")
    # Base files are in the campaign's locale: an English campaign formats English dates.
    other = renderer.render(english, version="all", variant=None, channel="email", ctx=ctx(locale="ru"))
    assert other.subject == "Live November 27"
    assert other.text.startswith("November 27 at 7:00")


def test_a_variant_missing_a_part_fails_the_dry_run_check(tmp_path: Path) -> None:
    write(tmp_path, "live/subject.j2", "Эфир")
    write(tmp_path, "live/email.txt.j2", "Текст {{ unsubscribe_url }}")
    write(tmp_path, "live/subject.en.j2", "Live")  # no email.en.txt.j2
    renderer = Renderer(tmp_path)
    camp = campaign(SCHOOL_CAMPAIGN.format(locale=""))
    renderer.render(camp, version="all", variant=None, channel="email", ctx=ctx(locale="ru"))  # fine in ru
    with pytest.raises(TemplateProblem) as caught:
        renderer.check(camp, ctx())
    assert caught.value.template == "live/email.en.txt.j2"
    assert caught.value.message == "missing: the en variant of live needs every part its base has"


def test_adding_or_changing_a_variant_changes_the_fingerprint(tmp_path: Path) -> None:
    write(tmp_path, "live/subject.j2", "Эфир")
    write(tmp_path, "live/email.txt.j2", "Текст {{ unsubscribe_url }}")
    renderer = Renderer(tmp_path)
    camp = campaign(SCHOOL_CAMPAIGN.format(locale=""))
    before = renderer.fingerprint(camp)
    write(tmp_path, "live/subject.en.j2", "Live")
    write(tmp_path, "live/email.en.txt.j2", "Text {{ unsubscribe_url }}")
    added = renderer.fingerprint(camp)
    write(tmp_path, "live/email.en.txt.j2", "Other text {{ unsubscribe_url }}")
    assert len({before, added, renderer.fingerprint(camp)}) == 3


@pytest.mark.parametrize("value", ["russian", "RU", "", "r"])
def test_a_bad_campaign_locale_is_one_sentence(value: str) -> None:
    from policy.campaign import CampaignError

    with pytest.raises(CampaignError) as caught:
        campaign(SCHOOL_CAMPAIGN.format(locale=f'locale = "{value}"'))
    assert str(caught.value).startswith(
        f"campaign.toml: locale: {value!r} is not a language code such as ru or en"
    )


def test_the_connect_link_is_the_contacts_own_and_needs_a_bot() -> None:
    c = campaign(
        SCHOOL_CAMPAIGN.format(locale="").replace(
            'template = "live"',
            'subject = "S"\ntext = """'
            '{{ "telegram_connect" in links }} {{ links.telegram_connect }} {{ unsubscribe_url }}"""',
        )
    )
    url = "https://t.me/school_bot?start=abc"
    message = Renderer().render(
        c, version="all", variant=None, channel="email", ctx=ctx(telegram_connect=url)
    )
    assert message.text.startswith(f"True {url} ")
    with pytest.raises(TemplateProblem) as caught:
        Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx(telegram_connect=None))
    assert caught.value.message.startswith(
        "links.telegram_connect needs the bot's username: set RITM_BOT_USERNAME"
    )
