"""Where a message renders (the event loop or a render thread) and when a pinned renderer reads files."""

from __future__ import annotations

import threading
from pathlib import Path

from dispatcher.render import ON_LOOP_UNDER_S, Renderer
from tests.render_support import campaign, ctx, inline_campaign


def with_thread_name(renderer: Renderer) -> Renderer:
    """Templates may call `thread()`: the name of the thread rendering them."""
    for env in renderer.envs.envs.values():
        env.globals["thread"] = lambda: threading.current_thread().name
    return renderer


async def render_text(renderer: Renderer, text: str) -> str:
    campaign = inline_campaign(text=text + " {{ unsubscribe_url }}")
    message = await renderer.render_async(campaign, version="all", variant=None, channel="email", ctx=ctx())
    return message.text.split()[0]


async def test_a_cheap_message_renders_on_the_loop_after_its_first_render_on_a_thread() -> None:
    renderer = with_thread_name(Renderer())
    main = threading.current_thread().name
    try:
        first = await render_text(renderer, "{{ thread() }}")
        later = [await render_text(renderer, "{{ thread() }}") for _ in range(5)]
    finally:
        renderer.close()
    assert first.startswith("ritm-render")
    # The first render also compiles the template: the next may still go to a thread, not later ones.
    assert later[1:] == [main] * 4, later


async def test_a_heavy_message_keeps_rendering_on_a_thread() -> None:
    renderer = with_thread_name(Renderer())
    # Far over the on-loop bound on any machine, far under the render time limit.
    heavy = "{% for i in range(20000) %}{% for j in range(3) %}{% endfor %}{% endfor %}{{ thread() }}"
    try:
        names = [await render_text(renderer, heavy) for _ in range(3)]
    finally:
        renderer.close()
    assert ON_LOOP_UNDER_S < 0.05
    assert all(name.startswith("ritm-render") for name in names), names


def write_template(root: Path, body: str) -> None:
    folder = root / "note"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "subject.j2").write_text("Тема", encoding="utf-8")
    (folder / "email.txt.j2").write_text(body + " {{ unsubscribe_url }}", encoding="utf-8")


def note_campaign() -> str:
    return "\n".join(
        [
            'id = "note"',
            'name = "Note"',
            'priority = "mass"',
            'channels = ["email"]',
            'audience = "all"',
            'start = "2026-11-25T09:00:00+03:00"',
            'deadline = "2026-11-27T21:00:00+03:00"',
            "[[versions]]",
            'segment = "all"',
            'template = "note"',
        ]
    )


def body(renderer: Renderer, root: Path) -> str:
    message = renderer.render(
        campaign(note_campaign()), version="all", variant=None, channel="email", ctx=ctx()
    )
    return message.text.split()[0]


def test_a_pinned_renderer_reads_an_edited_file_only_once_it_fingerprints_again(tmp_path: Path) -> None:
    write_template(tmp_path, "первая")
    pinned, plain = Renderer(tmp_path, pinned=True), Renderer(tmp_path)
    assert body(pinned, tmp_path) == body(plain, tmp_path) == "первая"
    write_template(tmp_path, "вторая")
    assert body(plain, tmp_path) == "вторая"
    assert body(pinned, tmp_path) == "первая"  # what the last fingerprint saw: nothing unseen goes out
    pinned.fingerprint(campaign(note_campaign()))
    assert body(pinned, tmp_path) == "вторая"


def test_a_pinned_renderer_notices_a_removed_override_on_refresh(tmp_path: Path) -> None:
    """A file in the extra directory shadows the shipped one; once removed, the shipped one is used."""
    pinned = Renderer(tmp_path, pinned=True)
    shipped = pinned.envs.path("digest_general/subject.j2")
    assert shipped is not None
    override = tmp_path / "digest_general" / "subject.j2"
    override.parent.mkdir()
    override.write_text("своя тема", encoding="utf-8")
    pinned.envs.refresh()
    assert pinned.envs.path("digest_general/subject.j2") == override.resolve()
    override.unlink()
    assert pinned.envs.path("digest_general/subject.j2") == override.resolve()  # pinned until refreshed
    pinned.envs.refresh()
    assert pinned.envs.path("digest_general/subject.j2") == shipped


def test_a_pinned_renderer_plans_a_part_added_on_disk_once_it_fingerprints_again(tmp_path: Path) -> None:
    """The same campaign object, rendered again and again: which parts a message has (here an HTML
    part added beside the text) is looked up again after a refresh, not kept from the first render."""
    write_template(tmp_path, "текст")
    pinned, note = Renderer(tmp_path, pinned=True), campaign(note_campaign())

    def html() -> str | None:
        return pinned.render(note, version="all", variant=None, channel="email", ctx=ctx()).html

    assert html() is None
    (tmp_path / "note" / "email.html.j2").write_text("<p>письмо {{ unsubscribe_url }}</p>", encoding="utf-8")
    assert html() is None  # pinned: nothing the last fingerprint did not see
    pinned.fingerprint(note)
    assert html() == f"<p>письмо {ctx().unsubscribe_url}</p>"
