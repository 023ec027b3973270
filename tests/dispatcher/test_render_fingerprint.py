"""The fingerprint binds an approval to a campaign and every template file it can reach."""

from __future__ import annotations

from pathlib import Path

from dispatcher.render import Renderer
from tests.render_support import campaign, example

OWN = """\
id = "own"
name = "Own templates"
priority = "mass"
channels = ["email"]
audience = "all"
start = "2026-11-25T09:00:00"
deadline = "2026-11-26T09:00:00"

[[versions]]
segment = "all"
template = "mine"
"""


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_fingerprint_is_stable_and_hex() -> None:
    c = example("digest.toml")
    first, second = Renderer().fingerprint(c), Renderer().fingerprint(c)
    assert first == second
    assert len(first) == 64 and int(first, 16) >= 0


def test_any_change_of_a_reachable_template_changes_it(tmp_path: Path) -> None:
    write(tmp_path, "mine/subject.j2", "Тема")
    write(tmp_path, "mine/email.txt.j2", '{% include "_blocks/mine_footer.j2" %}')
    write(tmp_path, "_blocks/mine_footer.j2", "{{ unsubscribe_url }}")
    c = campaign(OWN)
    r = Renderer(tmp_path)
    before = r.fingerprint(c)

    write(tmp_path, "mine/subject.j2", "Тема!")
    after_subject = r.fingerprint(c)
    assert after_subject != before

    write(tmp_path, "_blocks/mine_footer.j2", "Отписаться: {{ unsubscribe_url }}")
    after_include = r.fingerprint(c)
    assert after_include != after_subject

    write(tmp_path, "mine/telegram.j2", "новая часть")  # a part that did not exist before
    after_new_part = r.fingerprint(c)
    assert after_new_part != after_include

    write(tmp_path, "unrelated/subject.j2", "не наш шаблон")
    assert r.fingerprint(c) == after_new_part


def test_shadowing_a_shipped_block_changes_the_shipped_campaigns(tmp_path: Path) -> None:
    c = example("digest.toml")
    shipped = Renderer(tmp_path).fingerprint(c)
    write(tmp_path, "_blocks/email.txt.j2", "{% block content %}{% endblock %}\n{{ unsubscribe_url }}\n")
    assert Renderer(tmp_path).fingerprint(c) != shipped


def test_a_change_of_the_campaign_source_changes_it() -> None:
    r = Renderer()
    c = example("webinar.toml")
    edited = campaign(c.source.replace("holdout = 0.1", "holdout = 0.2"))
    commented = campaign(c.source + "\n# one more comment\n")
    assert len({r.fingerprint(c), r.fingerprint(edited), r.fingerprint(commented)}) == 3


def test_the_reminder_template_counts_for_event_campaigns(tmp_path: Path) -> None:
    c = campaign(example("webinar.toml").source.replace('reminder_template = "webinar_reminder"\n', ""))
    before = Renderer(tmp_path).fingerprint(c)
    write(tmp_path, "webinar_reminder/subject.j2", "Скоро эфир")
    assert Renderer(tmp_path).fingerprint(c) != before
