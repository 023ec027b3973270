"""The message renderer: a campaign, a version, a variant, a step and a recipient in; message parts out.

A template NAME is a directory, in `RITM_TEMPLATES` (wins on a name clash) or the shipped `templates`
package:

    NAME/subject.j2        email subject (plain text, one line)   — required for email
    NAME/email.txt.j2      email plain-text body                  — required for email (and sms)
    NAME/email.html.j2     email HTML body (autoescaped)          — optional
    NAME/telegram.j2       Telegram HTML (autoescaped)            — optional: else the text, escaped
    NAME/vk.j2             VK community message (plain text)      — optional: else the text
    _blocks/               shared skeletons and macros the parts extend, include or import

A part may have locale variants beside it: `NAME/email.en.txt.j2`, `subject.en.j2`, `telegram.en.j2`…
A message speaks the contact's language when its template has that variant, else the campaign's
`locale` (the base files are written in it; default `ru`), and every date, time and phrase of the
message is formatted in the language it speaks (never a Russian subject with an English date). A
variant must have every part its base has (the dry run checks each language). Inline sources, and an
inline subject that replaces a template's, are in the campaign's locale: readers of another language
get their variant's own subject.

A version without a template gives the same parts inline (`subject`, `text`, `html`, `telegram`).
Steps follow the outbox: 0 is the first send, 1.. are cascade follow-ups (the step's own template, else
the version's, rendered for the step's channel; a Telegram step's `connect_link` fallback email renders
its `fallback_template`, default `telegram_connect`), 100+k is the event's k-th reminder (its
`reminder_template`, default `webinar_reminder`). The variables templates see are documented in
`dispatcher.render_context`.

Each message renders under limits (`RenderConfig`: time and output size, see dispatcher.render_limits).
The async methods (`render_async`, `preview_async`, `check_async`) render on the renderer's own threads,
so that a heavy template never holds the event loop (HTTP, the bot and the worker keep answering).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup, escape

from dispatcher.channels.vk import MAX_LENGTH as VK_MAX_LENGTH
from dispatcher.render_context import MessageContext, build_context, language, sample_context
from dispatcher.render_env import TemplateEnvironments, TemplateProblem
from dispatcher.render_limits import RenderBudget, RenderConfig, RenderLimits
from dispatcher.render_telegram import (
    MAX_LENGTH,
    markup_problem,
    telegram_length,
    trim_telegram,
    visible_text,
)
from policy.campaign import Campaign
from policy.triggers import run_and_index
from storage.outbox import REMINDER_STEP

__all__ = [
    "MessageContext",
    "RenderConfig",
    "RenderLimits",
    "RenderedMessage",
    "Renderer",
    "TemplateProblem",
    "sample_context",
]
T = TypeVar("T")

PART_FILES = {
    "subject": "subject.j2",
    "text": "email.txt.j2",
    "html": "email.html.j2",
    "telegram": "telegram.j2",
    "vk": "vk.j2",
}
DEFAULT_REMINDER_TEMPLATE = "webinar_reminder"
DEFAULT_CONNECT_TEMPLATE = "telegram_connect"
BUTTON_SCHEMES = ("https://", "http://", "tg://")
# Renders are CPU-bound and share the GIL: more threads would not render faster, but one heavy
# template (up to the time limit) must not hold up every other message.
RENDER_THREADS = 4
# A render this cheap runs on the event loop: the hop to a render thread and back costs more than it,
# and every hop is a GIL hand-off that slows the sends around it.
ON_LOOP_UNDER_S = 0.005


@dataclass(frozen=True)
class RenderedMessage:
    """One message ready for a channel adapter; `tags` say what produced it (for measurement)."""

    subject: str
    text: str
    html: str | None
    telegram: str | None
    buttons: list[tuple[str, str]]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Source:
    name: str  # a file (`digest_general/email.html.j2`) or an inline key (`digest-48:versions.all.html`)
    inline: str | None = None  # the source text of an inline part


@dataclass(frozen=True)
class _Plan:
    parts: dict[str, _Source | None]
    template: str
    reminder: timedelta | None
    lang: str  # the language the message speaks


def part_file(name: str, lang: str | None) -> str:
    """`email.txt.j2` in `en` → `email.en.txt.j2`; None: the base file (the campaign's locale)."""
    if lang is None:
        return name
    stem, _, rest = name.partition(".")
    return f"{stem}.{lang}.{rest}"


def variant_languages(files: list[str]) -> set[str]:
    """The languages of a template's locale variants, from its file names (`subject.en.j2` → en)."""
    parts = {f.partition(".")[0] for f in PART_FILES.values()}
    found = set()
    for name in files:
        pieces = name.rpartition("/")[2].split(".")
        if len(pieces) >= 3 and pieces[0] in parts and language(pieces[1], "") == pieces[1]:
            found.add(pieces[1])
    return found


class Renderer:
    """Loads, renders, checks and fingerprints the templates of campaigns."""

    def __init__(
        self, extra_dir: Path | None = None, limits: RenderConfig | None = None, *, pinned: bool = False
    ) -> None:
        self.envs = TemplateEnvironments(extra_dir, pinned=pinned)
        self.limits: RenderConfig = limits or RenderLimits()
        self._pool: ThreadPoolExecutor | None = None
        # Per message kind (campaign, version, variant, channel, step): may it render on the loop?
        self._on_loop: dict[tuple[str, str, str | None, str, int], bool] = {}
        # Pinned templates: the plan of each message kind, per campaign object (held, so that its id
        # is not reused) and for the files as of the environments' `generation`.
        self._plans: dict[int, tuple[Campaign, dict[tuple[str, str | None, int, str, str], _Plan]]] = {}
        self._plans_generation = 0

    # -- off the event loop -------------------------------------------------------------------------

    async def render_async(
        self,
        campaign: Campaign,
        *,
        version: str,
        variant: str | None,
        channel: str,
        ctx: MessageContext,
        step: int = 0,
    ) -> RenderedMessage:
        """`render` where it costs least: on the event loop for a message kind whose last render on a
        render thread took under `ON_LOOP_UNDER_S` of CPU, else on a render thread. A render that held
        the loop longer than that sends its kind back to the threads until one is cheap there again
        (a busy machine can stretch a cheap render; a heavy template stays on the threads)."""
        work = functools.partial(
            self.render, campaign, version=version, variant=variant, channel=channel, ctx=ctx, step=step
        )
        kind = (campaign.id, version, variant, channel, step)
        if self._on_loop.get(kind):
            started = time.perf_counter()  # the loop's own time: what every other coroutine waited
            try:
                return work()
            finally:
                if time.perf_counter() - started > ON_LOOP_UNDER_S:
                    self._on_loop[kind] = False
        message, spent = await self._off_loop(functools.partial(_timed, work))
        if len(self._on_loop) > 4096:  # kinds come from campaigns; this only bounds a pathological process
            self._on_loop.clear()
        self._on_loop[kind] = spent <= ON_LOOP_UNDER_S
        return message

    async def preview_async(
        self, campaign: Campaign, version: str, channel: str, sample: MessageContext
    ) -> RenderedMessage:
        """`preview` on a render thread."""
        return await self._off_loop(functools.partial(self.preview, campaign, version, channel, sample))

    async def check_async(self, campaign: Campaign, sample: MessageContext) -> None:
        """`check` on a render thread (every message of the campaign in one hop)."""
        await self._off_loop(functools.partial(self.check, campaign, sample))

    def close(self) -> None:
        """Let the render threads go (a render in progress stops by its own time limit)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="ritm-render")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    # -- rendering (on the calling thread) ----------------------------------------------------------

    def render(
        self,
        campaign: Campaign,
        *,
        version: str,
        variant: str | None,
        channel: str,
        ctx: MessageContext,
        step: int = 0,
    ) -> RenderedMessage:
        """The message for one recipient; a Telegram text over 4096 characters is trimmed with «…»."""
        message, _ = self._render(campaign, version, variant, channel, ctx, step)
        if message.telegram is not None and telegram_length(message.telegram) > MAX_LENGTH:
            trimmed = trim_telegram(message.telegram)
            return RenderedMessage(
                message.subject, visible_text(trimmed), None, trimmed, message.buttons, message.tags
            )
        return message

    def preview(
        self, campaign: Campaign, version: str, channel: str, sample: MessageContext
    ) -> RenderedMessage:
        """The dry run's preview of one version on one channel (the first A/B variant, if any)."""
        variant = campaign.variants[0].name if campaign.variants else None
        return self.render(campaign, version=version, variant=variant, channel=channel, ctx=sample)

    def check(self, campaign: Campaign, sample: MessageContext) -> None:
        """Render every version × variant × step × channel for `sample`, in the campaign's locale and
        in each language its templates have variants in; raise the first problem."""
        self.envs.refresh()
        languages = set().union(
            *(variant_languages(self.envs.files_of(t)) for t in self._template_names(campaign))
        )
        for lang in [campaign.locale, *sorted(languages - {campaign.locale})]:
            self._check_language(campaign, replace(sample, locale=lang))

    def _check_language(self, campaign: Campaign, sample: MessageContext) -> None:
        variants: list[str | None] = [v.name for v in campaign.variants] or [None]
        if campaign.trigger is not None:  # each step renders its own template on its own channel
            for index, trigger_step in enumerate(campaign.steps):
                self._check_one(
                    campaign, campaign.versions[0].name, None, trigger_step.channel, index, sample
                )
            return
        for version in campaign.versions:
            for variant in variants:
                for channel in campaign.channels:
                    self._check_one(campaign, version.name, variant, channel, 0, sample)
                for index, step in enumerate(campaign.cascade, start=1):
                    self._check_one(campaign, version.name, variant, step.channel, index, sample)
                    if step.fallback is not None:
                        self._check_one(campaign, version.name, variant, "email", index, sample)
        if campaign.event is not None:
            for k in range(len(campaign.event.reminders)):
                for channel in campaign.channels:
                    self._check_one(
                        campaign, campaign.versions[0].name, None, channel, REMINDER_STEP + k, sample
                    )

    def fingerprint(self, campaign: Campaign) -> str:
        """sha256 over the campaign source and every template file it can reach (missing ones too)."""
        self.envs.refresh()
        names = [f"{t}/{f}" for t in self._template_names(campaign) for f in PART_FILES.values()]
        names += [f for t in self._template_names(campaign) for f in self.envs.files_of(t)]
        inline = [v.inline for v in self._inline_sources(campaign) if v.inline is not None]
        digest = hashlib.sha256(b"ritm-campaign-v1\0")
        digest.update((campaign.source or campaign.model_dump_json()).encode())
        for name, text in sorted(self.envs.closure(names, inline).items()):
            digest.update(b"\0file\0" + name.encode() + b"\0")
            digest.update(b"missing" if text is None else b"+" + text.encode())
        return digest.hexdigest()

    # -- internals ---------------------------------------------------------------------------------

    def _check_one(
        self,
        campaign: Campaign,
        version: str,
        variant: str | None,
        channel: str,
        step: int,
        sample: MessageContext,
    ) -> None:
        message, names = self._render(campaign, version, variant, channel, sample, step)
        if message.telegram is not None:
            name = names.get("telegram") or names.get("text", "telegram")
            problem = markup_problem(message.telegram)
            if problem is not None:
                raise TemplateProblem(name, None, problem)
            length = telegram_length(message.telegram)
            if length > MAX_LENGTH:
                raise TemplateProblem(
                    name, None, f"the Telegram message is {length} characters, over Telegram's {MAX_LENGTH}"
                )
        if channel == "vk" and len(message.text) > VK_MAX_LENGTH:
            raise TemplateProblem(
                names.get("vk") or names.get("text", "vk"),
                None,
                f"the VK message is {len(message.text)} characters, over VK's {VK_MAX_LENGTH}",
            )
        for label, url in message.buttons:
            if not label.strip() or not url.startswith(BUTTON_SCHEMES):
                raise TemplateProblem(
                    names.get("telegram", "telegram"), None, f"bad button {label!r} → {url!r}"
                )

    def _render(
        self,
        campaign: Campaign,
        version: str,
        variant: str | None,
        channel: str,
        ctx: MessageContext,
        step: int,
    ) -> tuple[RenderedMessage, dict[str, str]]:
        plan = self._planned(campaign, version, variant, step, channel, language(ctx.locale, campaign.locale))
        parts = plan.parts
        budget = RenderBudget(self.limits)  # one deadline and one size budget for the whole message
        base = build_context(
            campaign, ctx, version=version, variant=variant, lang=plan.lang, reminder=plan.reminder
        )
        names = {part: source.name for part, source in parts.items() if source is not None}
        tags = {
            "campaign": campaign.id,
            "version": version,
            "variant": variant or "",
            "step": str(step),
            "template": plan.template,
            "channel": channel,
        }

        def need(part: str) -> _Source:
            source = parts[part]
            if source is None:
                raise TemplateProblem(
                    plan.template, None, f"no {PART_FILES[part]} part, needed for {channel}"
                )
            return source

        subject = ""
        if channel == "email" or parts["subject"] is not None:
            subject = " ".join(self._part(need("subject"), "text", base, budget).split())
        context = {**base, "subject": subject}
        if channel == "email":
            text = self._part(need("text"), "text", context, budget)
            html_source = parts["html"]
            html = None
            if html_source is not None:
                html = self._part(
                    html_source, "markup", {**context, "open_pixel_url": ctx.open_pixel_url or ""}, budget
                )
            if campaign.priority != "service" and ctx.unsubscribe_url:
                text, html = with_unsubscribe(text, html, ctx.unsubscribe_url, plan.lang)
            return RenderedMessage(subject, text, html, None, [], tags), names
        if channel == "telegram":
            buttons: list[tuple[str, str]] = []
            tg_source = parts["telegram"]
            if tg_source is not None:
                telegram = self._part(tg_source, "markup", {**context, "button": _collector(buttons)}, budget)
                return RenderedMessage(subject, visible_text(telegram), None, telegram, buttons, tags), names
            text = self._part(need("text"), "text", context, budget)
            return RenderedMessage(subject, text, None, str(escape(text)), buttons, tags), names
        if channel == "vk":  # plain text; `button(label, url)` adds a link button, as in telegram.j2
            vk_buttons: list[tuple[str, str]] = []
            source = parts["vk"] or need("text")
            text = self._part(source, "text", {**context, "button": _collector(vk_buttons)}, budget)
            return RenderedMessage(subject, text, None, None, vk_buttons, tags), names
        if channel == "sms":
            return RenderedMessage(
                subject, self._part(need("text"), "text", context, budget), None, None, [], tags
            ), names
        raise ValueError(f"unknown channel {channel!r}")

    def _part(self, source: _Source, kind: str, context: dict[str, Any], budget: RenderBudget) -> str:
        if source.inline is not None:
            template = self.envs.inline("markup" if kind == "markup" else "text", source.name, source.inline)
        else:
            template = self.envs.file("markup" if kind == "markup" else "text", source.name)
        return self.envs.render(template, source.name, context, budget).strip()

    def _planned(
        self, campaign: Campaign, version: str, variant: str | None, step: int, channel: str, wanted: str
    ) -> _Plan:
        """`_plan`, kept while the templates are pinned and not refreshed (a campaign is immutable)."""
        if not self.envs.pinned:
            return self._plan(campaign, version, variant, step, channel, wanted)
        if self._plans_generation != self.envs.generation or len(self._plans) > 64:
            self._plans.clear()  # a refresh may have found files changed; campaigns are few
            self._plans_generation = self.envs.generation
        held = self._plans.get(id(campaign))
        if held is None or held[0] is not campaign or len(held[1]) > 1024:  # kinds × reader languages
            held = self._plans[id(campaign)] = (campaign, {})
        key = (version, variant, step, channel, wanted)
        plan = held[1].get(key)
        if plan is None:
            plan = held[1][key] = self._plan(campaign, version, variant, step, channel, wanted)
        return plan

    def _plan(
        self, campaign: Campaign, version: str, variant: str | None, step: int, channel: str, wanted: str
    ) -> _Plan:
        try:
            ver = campaign.version(version)
            var = campaign.variant(variant) if variant is not None else None
        except KeyError as exc:
            raise ValueError(exc.args[0]) from exc
        reminder: timedelta | None = None
        subject: _Source | None = None
        if var is not None and var.subject is not None:
            subject = _Source(f"{campaign.id}:variants.{var.name}.subject", var.subject)
        elif ver.subject is not None:
            subject = _Source(f"{campaign.id}:versions.{ver.name}.subject", ver.subject)
        template = (var.template if var is not None else None) or ver.template
        if campaign.trigger is not None:
            _, index = run_and_index(step)
            if index >= len(campaign.steps):
                raise ValueError(f"campaign {campaign.id} has no trigger step {index}")
            template, subject = campaign.steps[index].template, None
        elif step >= REMINDER_STEP:
            if campaign.event is None or step - REMINDER_STEP >= len(campaign.event.reminders):
                raise ValueError(f"campaign {campaign.id} has no reminder step {step}")
            reminder = campaign.event.reminders[step - REMINDER_STEP]
            template, subject = campaign.event.reminder_template or DEFAULT_REMINDER_TEMPLATE, None
        elif step >= 1:
            if step > len(campaign.cascade):
                raise ValueError(f"campaign {campaign.id} has no cascade step {step}")
            cascade = campaign.cascade[step - 1]
            if cascade.fallback is not None and channel != cascade.channel:
                # The step's fallback: an email that carries the contact's Telegram connect link.
                template, subject = cascade.fallback_template or DEFAULT_CONNECT_TEMPLATE, None
            elif cascade.template is not None:
                template, subject = cascade.template, None
        parts: dict[str, _Source | None]
        suffix: str | None = None
        if template is None:
            inline = {p: getattr(ver, p) for p in PART_FILES}
            parts = {
                p: _Source(f"{campaign.id}:versions.{ver.name}.{p}", text) if text is not None else None
                for p, text in inline.items()
            }
        else:
            suffix = self._variant(template, wanted, campaign.locale)
            parts = {p: self._file(template, f, suffix) for p, f in PART_FILES.items()}
            if not any(parts.values()):
                raise TemplateProblem(template, None, "no such template here or in the shipped templates")
        if subject is not None and suffix is None:
            parts["subject"] = subject
        return _Plan(parts, template or "inline", reminder, suffix or campaign.locale)

    def _variant(self, template: str, wanted: str, default: str) -> str | None:
        """The locale variant a reader of `wanted` gets: theirs, else the campaign locale's (if the
        template has one), else None — the base files."""
        for lang in dict.fromkeys((wanted, default)):
            if any(self.envs.exists(f"{template}/{part_file(f, lang)}") for f in PART_FILES.values()):
                return lang
        return None

    def _file(self, template: str, name: str, lang: str | None) -> _Source | None:
        """A part of `template` in `lang`; a variant lacking a part its base has is an error (the reader
        would get that part in another language)."""
        chosen = f"{template}/{part_file(name, lang)}"
        if self.envs.exists(chosen):
            return _Source(chosen)
        if lang is not None and self.envs.exists(f"{template}/{name}"):
            raise TemplateProblem(
                chosen, None, f"missing: the {lang} variant of {template} needs every part its base has"
            )
        return None

    def _template_names(self, campaign: Campaign) -> list[str]:
        names = campaign.template_names()
        if campaign.event is not None and campaign.event.reminder_template is None:
            names.append(DEFAULT_REMINDER_TEMPLATE)
        if any(s.fallback is not None and s.fallback_template is None for s in campaign.cascade):
            names.append(DEFAULT_CONNECT_TEMPLATE)
        return names

    @staticmethod
    def _inline_sources(campaign: Campaign) -> list[_Source]:
        sources = [_Source(f"v.{p}", getattr(v, p)) for v in campaign.versions for p in PART_FILES]
        sources += [_Source("variant.subject", v.subject) for v in campaign.variants]
        return sources


UNSUBSCRIBE_LINE = {"ru": "Отписаться от рассылки", "en": "Unsubscribe"}


def with_unsubscribe(text: str, html: str | None, url: str, lang: str) -> tuple[str, str | None]:
    """Every non-service email carries its unsubscribe link: a template (or an inline text) that
    forgot it gets a plain footer line instead of a failed dry run."""
    label = UNSUBSCRIBE_LINE.get(lang, UNSUBSCRIBE_LINE["ru"])
    if url not in text:
        text = f"{text}\n\n--\n{label}: {url}"
    if html is not None and url not in html:
        footer = f'<p style="font-size:12px;color:#777"><a href="{escape(url)}">{escape(label)}</a></p>'
        html = html.replace("</body>", footer + "</body>", 1) if "</body>" in html else html + footer
    return text, html


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    """`work()` and the CPU time this thread spent on it (waiting for the GIL not counted)."""
    started = time.thread_time()
    result = work()
    return result, time.thread_time() - started


def _collector(buttons: list[tuple[str, str]]) -> Any:
    def button(label: Any, url: Any) -> str:
        text = label.unescape() if isinstance(label, Markup) else str(label)
        buttons.append((" ".join(text.split()), str(url)))
        return ""

    return button
