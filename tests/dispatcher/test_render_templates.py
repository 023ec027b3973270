"""Rendering: escaping per part, the context's fallbacks and local times, errors with template and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dispatcher.render import Renderer, TemplateProblem, sample_context
from dispatcher.render_context import Fields, Links, build_context, language
from dispatcher.render_guard import GuardedSandbox
from dispatcher.render_limits import RenderBudget, RenderLimits, budget_scope
from dispatcher.render_telegram import markup_problem
from tests.render_support import campaign, ctx, example, inline_campaign

NASTY = "<b>Анна</b> & Co"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_contact_data_is_escaped_in_html_and_telegram_but_not_in_text() -> None:
    c = inline_campaign(
        subject="{{ contact.name }}: тема",
        text="Привет, {{ contact.name }}! {{ unsubscribe_url }}",
        html="<p>Привет, <b>{{ contact.name }}</b>!</p> {{ unsubscribe_url }}",
        telegram="<i>Привет</i>, {{ contact.name }}!",
    )
    r = Renderer()
    email = r.render(c, version="all", variant=None, channel="email", ctx=ctx(name=NASTY))
    assert email.subject == "<b>Анна</b> & Co: тема"
    assert email.text.startswith("Привет, <b>Анна</b> & Co!")
    assert email.html is not None
    assert "<p>Привет, <b>&lt;b&gt;Анна&lt;/b&gt; &amp; Co</b>!</p>" in email.html
    tg = r.render(c, version="all", variant=None, channel="telegram", ctx=ctx(name=NASTY))
    assert tg.telegram == "<i>Привет</i>, &lt;b&gt;Анна&lt;/b&gt; &amp; Co!"
    assert markup_problem(tg.telegram) is None
    assert tg.text == "Привет, <b>Анна</b> & Co!"  # what the reader sees


def test_telegram_falls_back_to_the_text_escaped() -> None:
    c = inline_campaign(text="a < b & {{ contact.first_name }}")
    msg = Renderer().render(c, version="all", variant=None, channel="telegram", ctx=ctx(name="Том & Джерри"))
    assert msg.telegram == "a &lt; b &amp; Том"
    assert msg.html is None and msg.buttons == []


@pytest.mark.parametrize(
    ("name", "locale", "first", "full"),
    [
        ("", "ru", "друг", "друг"),
        ("   ", "ru_RU", "друг", "друг"),
        ("", "en", "friend", "friend"),
        ("  Анна   Смирнова ", "ru", "Анна", "Анна Смирнова"),
        ("Bob", "en-GB", "Bob", "Bob"),
    ],
)
def test_first_name_falls_back_by_language(name: str, locale: str, first: str, full: str) -> None:
    c = inline_campaign(subject="{{ contact.first_name }}|{{ contact.name }}", locale=language(locale))
    msg = Renderer().render(
        c, version="all", variant=None, channel="email", ctx=ctx(name=name, locale=locale)
    )
    assert msg.subject == f"{first}|{full}"


@pytest.mark.parametrize(
    ("tz", "locale", "expected"),
    [
        ("Europe/Moscow", "ru", "27 ноября в 19:00 (МСК)"),
        ("Asia/Vladivostok", "ru", "28 ноября в 02:00 (МСК+7)"),
        ("Europe/Kaliningrad", "ru", "27 ноября в 18:00 (МСК-1)"),
        ("Asia/Kolkata", "ru", "27 ноября в 21:30 (МСК+2:30)"),
        ("Asia/Vladivostok", "en", "November 28 at 2:00\u202fAM (GMT+10)"),
        ("Europe/Kaliningrad", "en", "November 27 at 6:00\u202fPM (GMT+2)"),
    ],
)
def test_event_time_is_local_to_the_contact(tz: str, locale: str, expected: str) -> None:
    c = inline_campaign(subject="{{ event.local_start }}", event=True, locale=locale)
    msg = Renderer().render(
        c, version="all", variant=None, channel="email", ctx=ctx(timezone=tz, locale=locale)
    )
    assert msg.subject.replace("\u202f", " ") == expected.replace("\u202f", " ")


def test_unknown_timezone_falls_back_to_the_default_zone() -> None:
    c = inline_campaign(subject="{{ event.local_time }} {{ contact.timezone }}", event=True)
    msg = Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx(timezone="Mars/Olympus"))
    assert msg.subject == "19:00 Europe/Moscow"


def test_context_carries_rfm_region_interest_fields_and_calendar_links() -> None:
    c = inline_campaign(
        subject="{{ contact.rfm }}|{{ contact.region }}|{{ contact.interest }}|{{ contact.fields.course }}",
        text="{{ event.google_url }}\n{{ event.outlook_url }}\n{{ event.ics_url }}\n{{ unsubscribe_url }}",
        event=True,
    )
    sample = ctx(rfm_segment="at_risk", region="Приморье", interest="прогрев", fields={"course": "SMM"})
    msg = Renderer().render(c, version="all", variant=None, channel="email", ctx=sample)
    assert msg.subject == "at_risk|Приморье|прогрев|SMM"
    google, outlook, ics, _ = msg.text.split("\n")
    assert google.startswith("https://calendar.google.com/") and "20261127T160000Z" in google
    assert outlook.startswith("https://outlook.live.com/") and "2026-11-27T16%3A00%3A00Z" in outlook
    assert ics == sample.ics_url


def test_links_are_the_tracked_urls_and_unknown_links_fail() -> None:
    c = inline_campaign(
        text='{{ links.program }} {{ "program" in links }} {{ "nope" in links }} {{ unsubscribe_url }}',
        links='program = "https://school.example/program"',
    )
    r = Renderer()
    raw = r.render(c, version="all", variant=None, channel="email", ctx=ctx())
    assert raw.text.startswith("https://school.example/program True False")
    tracked = r.render(
        c, version="all", variant=None, channel="email", ctx=ctx(links={"program": "https://t.example/c/x1"})
    )
    assert tracked.text.startswith("https://t.example/c/x1 ")
    bad = inline_campaign(text="строка\n{{ links.nope }}", links='program = "https://school.example/p"')
    with pytest.raises(TemplateProblem) as caught:
        r.render(bad, version="all", variant=None, channel="email", ctx=ctx())
    assert caught.value.template == "inline:versions.all.text"
    assert caught.value.line == 2
    assert "unknown link 'nope'" in caught.value.message and "program" in caught.value.message


def test_unknown_variable_names_the_template_and_line() -> None:
    c = inline_campaign(text="Привет!\n\n{{ contact.nmae }}")
    with pytest.raises(TemplateProblem) as caught:
        Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx())
    problem = caught.value
    assert (problem.template, problem.line) == ("inline:versions.all.text", 3)
    assert "contact has no attribute 'nmae'" in problem.message
    assert str(problem).startswith("inline:versions.all.text, line 3: ")
    assert isinstance(problem, ValueError)


def test_unknown_variable_in_a_file_and_in_an_included_block(tmp_path: Path) -> None:
    write(tmp_path, "mine/subject.j2", "Тема")
    write(tmp_path, "mine/email.txt.j2", "одна\nдве\n{{ missing_thing }}\n")
    write(tmp_path, "other/subject.j2", "Тема")
    write(tmp_path, "other/email.txt.j2", 'раз\n{% include "_blocks/part.j2" %}\n')
    write(tmp_path, "_blocks/part.j2", "ок\nок\n{{ contact.fields.absent }}\n")
    text = 'id = "f"\nname = "F"\npriority = "mass"\nchannels = ["email"]\naudience = "all"\n'
    text += 'start = "2026-11-25T09:00:00"\ndeadline = "2026-11-26T09:00:00"\n'
    text += '[[versions]]\nsegment = "rplus"\ntemplate = "mine"\n'
    text += '[[versions]]\nsegment = "all"\ntemplate = "other"\n'
    c = campaign(text)
    r = Renderer(tmp_path)
    with pytest.raises(TemplateProblem) as first:
        r.render(c, version="rplus", variant=None, channel="email", ctx=ctx())
    assert (first.value.template, first.value.line) == ("mine/email.txt.j2", 3)
    assert "'missing_thing' is undefined" in first.value.message
    with pytest.raises(TemplateProblem) as second:
        r.render(c, version="all", variant=None, channel="email", ctx=ctx())
    assert (second.value.template, second.value.line) == ("_blocks/part.j2", 3)
    assert "contact.fields has no attribute 'absent'" in second.value.message


def test_syntax_errors_give_the_line(tmp_path: Path) -> None:
    c = inline_campaign(text="ok\n{% if %}\n")
    with pytest.raises(TemplateProblem) as caught:
        Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx())
    assert (caught.value.template, caught.value.line) == ("inline:versions.all.text", 2)
    write(tmp_path, "digest_clients/email.txt.j2", "a\nb\n{{ contact.name \n")
    digest = example("digest.toml")
    Renderer().check(digest, sample_context("Europe/Moscow"))
    with pytest.raises(TemplateProblem) as in_file:
        Renderer(tmp_path).check(digest, sample_context("Europe/Moscow"))
    assert (in_file.value.template, in_file.value.line) == ("digest_clients/email.txt.j2", 3)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.__class__.__init__.__globals__ }}",
        "{{ links._urls }}",
        "{{ contact.fields.__class__ }}",
        "{{ contact.fields.clear() }}",
        "{{ contact.fields.update(course='x') }}",
    ],
)
def test_the_sandbox_blocks_attribute_escapes(source: str) -> None:
    c = inline_campaign(text=source)
    with pytest.raises(TemplateProblem) as caught:
        Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx())
    assert "not allowed in a template" in caught.value.message
    assert caught.value.line == 1


def test_the_sandbox_still_blocks_escapes_once_it_remembers_safe_reads() -> None:
    # One renderer: the same types' harmless attributes are read (and remembered) first, then each
    # escape, twice, must still be refused.
    r = Renderer()
    harmless = inline_campaign(
        text="{{ ''.upper() }} {{ contact.name }} {{ contact.fields.get('course') }} {{ links|list }}"
    )
    r.render(harmless, version="all", variant=None, channel="email", ctx=ctx())
    for source in ["{{ ''.__class__ }}", "{{ contact.fields.clear() }}", "{{ links._urls }}"] * 2:
        with pytest.raises(TemplateProblem, match="not allowed in a template"):
            r.render(inline_campaign(text=source), version="all", variant=None, channel="email", ctx=ctx())


def test_remembered_attribute_answers_are_the_immutable_sandboxs() -> None:
    guarded, jinja = GuardedSandbox(), ImmutableSandboxedEnvironment()
    objects = [
        "s",
        1,
        [1],
        (1,),
        {"a": 1},
        Fields(a=1),
        Links({}, {}),
        ctx(),
        str,
        len,
        lambda: 0,
        (x for x in ""),
    ]
    names = ["upper", "append", "clear", "update", "pop", "get", "mro", "__class__", "_urls", "gi_frame",
             "__globals__", "name", "items", "keys", "format"]  # fmt: skip
    for _ in range(2):  # the second pass answers from memory
        for obj in objects:
            for name in names:
                assert guarded.is_safe_attribute(obj, name, None) == jinja.is_safe_attribute(obj, name, None)


def test_attribute_reads_answer_as_jinjas_immutable_sandbox() -> None:
    """The sandbox's getattr takes shortcuts for plain data: every read still gives what Jinja's own
    gives — the value, the item behind a missing attribute, the wrapped `str.format`, or an undefined
    that raises the same error."""
    guarded, jinja = GuardedSandbox(), ImmutableSandboxedEnvironment()
    view = build_context(
        example("digest.toml"), ctx(fields={"course": "SQL"}), version="general", variant=None, lang="ru"
    )
    contact = view["contact"]
    objects = ["{a}!", 1, [1], {"a": 1, "keys": 2}, contact, contact.fields, view["links"],
               view["campaign"], str, len, (x for x in "")]  # fmt: skip
    names = ["upper", "format", "format_map", "append", "clear", "update", "pop", "get", "keys", "a",
             "mro", "__class__", "_urls", "gi_frame", "__globals__", "name", "first_name", "course",
             "missing", "id"]  # fmt: skip
    with budget_scope(RenderBudget(RenderLimits())):
        for _ in range(2):  # the second pass answers from the remembered safety answers
            for obj in objects:
                for name in names:
                    try:
                        expected = jinja.getattr(obj, name)
                    except Exception as exc:  # a link the campaign does not declare
                        with pytest.raises(type(exc)):
                            guarded.getattr(obj, name)
                        continue
                    got = guarded.getattr(obj, name)
                    assert type(got) is type(expected)  # a wrapped `format` is a function, not str's method
                    if isinstance(expected, Undefined):
                        assert got._undefined_message == expected._undefined_message
                        assert got._undefined_exception is expected._undefined_exception
                    elif name == "format" and isinstance(obj, str):  # the sandbox's own formatter
                        assert got(a="x") == expected(a="x") == "x!"
                    elif name == "format_map" and isinstance(obj, str):
                        assert got({"a": "x"}) == expected({"a": "x"}) == "x!"
                    else:
                        assert got == expected or got is expected


def test_open_pixel_exists_only_in_html() -> None:
    c = inline_campaign(
        text="{{ open_pixel_url }}", html='<img src="{{ open_pixel_url }}">{{ unsubscribe_url }}'
    )
    with pytest.raises(TemplateProblem, match="'open_pixel_url' is undefined"):
        Renderer().render(c, version="all", variant=None, channel="email", ctx=ctx())
    ok = inline_campaign(html='<img src="{{ open_pixel_url }}">')
    msg = Renderer().render(ok, version="all", variant=None, channel="email", ctx=ctx())
    assert msg.html is not None and msg.html.startswith('<img src="https://school.example/o/sample.gif">')


def test_variant_subject_wins_and_tags_name_the_source() -> None:
    c = campaign()  # variant B has no subject of its own in the base file
    text = 'name = "B"\nweight = 0.5\nsubject = "B: {{ contact.first_name }}"'
    with_b = campaign(c.source.replace('name = "B"\nweight = 0.5', text))
    r = Renderer()
    a = r.render(with_b, version="all", variant="A", channel="email", ctx=ctx())
    b = r.render(with_b, version="all", variant="B", channel="email", ctx=ctx())
    assert a.subject == "Привет, Анна" and b.subject == "B: Анна"
    assert b.tags == {
        "campaign": "t-1",
        "version": "all",
        "variant": "B",
        "step": "0",
        "template": "inline",
        "channel": "email",
    }
    with pytest.raises(ValueError, match="no variant 'C'"):
        r.render(with_b, version="all", variant="C", channel="email", ctx=ctx())


def test_extra_directory_wins_on_a_name_clash(tmp_path: Path) -> None:
    write(tmp_path, "digest_general/subject.j2", "Своя тема для {{ contact.first_name }}")
    c = example("digest.toml")
    shipped = Renderer().render(c, version="general", variant="A", channel="email", ctx=ctx())
    ours = Renderer(tmp_path).render(c, version="general", variant="A", channel="email", ctx=ctx())
    assert ours.subject == "Своя тема для Анна"
    assert shipped.subject != ours.subject
    assert ours.text == shipped.text  # the other parts still come from the shipped package


def test_check_finds_links_a_shared_block_needs() -> None:
    with pytest.raises(TemplateProblem) as caught:
        Renderer().check(campaign(), sample_context("Europe/Moscow"))  # digest_clients without its links
    assert (caught.value.template, caught.value.line) == ("_blocks/digest.txt.j2", 22)
    assert "unknown link 'case'" in caught.value.message


def test_a_missing_extra_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"RITM_TEMPLATES: .* is not a directory"):
        Renderer(tmp_path / "nope")


def test_missing_parts_and_templates_are_problems(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tg_only/telegram.j2",
        "<b>{{ contact.first_name }}</b>{{ button('Открыть', 'https://x.example') }}",
    )
    c = campaign(campaign().source.replace('template = "digest_clients"', 'template = "tg_only"'))
    r = Renderer(tmp_path)
    tg = r.render(c, version="rplus", variant=None, channel="telegram", ctx=ctx())
    assert (
        tg.telegram == "<b>Анна</b>" and tg.buttons == [("Открыть", "https://x.example")] and tg.subject == ""
    )
    with pytest.raises(TemplateProblem) as caught:
        r.render(c, version="rplus", variant=None, channel="email", ctx=ctx())
    assert caught.value.template == "tg_only" and "subject.j2" in caught.value.message
    nowhere = campaign(campaign().source.replace('template = "digest_clients"', 'template = "no_such_one"'))
    with pytest.raises(TemplateProblem, match="no such template"):
        r.check(nowhere, sample_context("Europe/Moscow"))


def test_non_service_email_always_carries_its_unsubscribe_link() -> None:
    sample = sample_context("Europe/Moscow")
    mass = inline_campaign(text="Без ссылки", html="<p>Без ссылки</p>")
    Renderer().check(mass, sample)
    msg = Renderer().render(mass, version="all", variant=None, channel="email", ctx=sample)
    assert msg.text.endswith(f"Отписаться от рассылки: {sample.unsubscribe_url}")
    assert msg.html is not None and f'href="{sample.unsubscribe_url}"' in msg.html
    service = inline_campaign(priority="service", text="Без ссылки")
    plain = Renderer().render(service, version="all", variant=None, channel="email", ctx=sample)
    assert sample.unsubscribe_url not in plain.text


def test_check_rejects_tags_telegram_does_not_know() -> None:
    c = inline_campaign(telegram="<p>Абзац</p>")
    with pytest.raises(TemplateProblem) as caught:
        Renderer().check(c, sample_context("Europe/Moscow"))
    assert caught.value.template == "inline:versions.all.telegram"
    assert "tag <p> is not allowed" in caught.value.message


def test_sample_context_is_anna_in_the_policy_zone() -> None:
    sample = sample_context("Asia/Yekaterinburg")
    assert sample.name.startswith("Анна") and sample.timezone == "Asia/Yekaterinburg"
    assert (
        sample.region == "Москва" and sample.locale == "ru" and sample.unsubscribe_url.startswith("https://")
    )
