"""/segments, /segment <name|DSL> and /rfm: how big the base and its segments are, right now."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_base import dsl_error_blocks, rfm_blocks, segment_blocks, segments_blocks
from bot.roles import needs
from bot.services import BotServices
from policy.config import Policy
from policy.dsl import All, And, DslError, Expr, Has, Or
from policy.rfm import segment_names
from policy.segment_names import resolve
from storage.reports import people, rfm_breakdown
from storage.segments import SegmentContext

SAMPLE_SIZE = 5
# The channels the bot's reach figures count (the ones `/urgent` can send on), not every channel the
# dispatcher has (policy.config.CHANNELS).
BOT_CHANNELS = ("email", "telegram")


def audience_text(arg: str, policy: Policy) -> str:
    """A bare segment name (saved or RFM) as DSL; anything else is taken as DSL already."""
    name = arg.strip()
    if name in policy.segments:
        return f"segment:{name}"
    if name in segment_names(policy.rfm):
        return f"rfm:{name}"
    return name


def reachable_expr(tree: Expr, channel: str | None = None) -> Expr:
    """Members reachable on `channel` (or on any bot channel when None)."""
    reach: Expr = Has(channel) if channel else Or(tuple(Has(c) for c in BOT_CHANNELS))
    return reach if isinstance(tree, All) else And((tree, reach))


async def reach_counts(ctx: SegmentContext, tree: Expr) -> dict[str, int]:
    return {channel: await ctx.count(reachable_expr(tree, channel)) for channel in BOT_CHANNELS}


async def all_segments(message: Message, services: BotServices, tr: Translator, now: datetime) -> None:
    async with SegmentContext(services.db, services.policy, now) as ctx:
        total = await ctx.count("all")
        rfm = await ctx.rfm_counts()
        saved: dict[str, int | str] = {}
        for name in services.policy.segments:
            try:
                saved[name] = await ctx.count(f"segment:{name}")
            except DslError as exc:
                saved[name] = str(exc)
    await answer_blocks(message, segments_blocks(total, rfm, saved, tr), tr)


async def one_segment(
    message: Message, command: CommandObject, services: BotServices, tr: Translator, now: datetime
) -> None:
    arg = (command.args or "").strip()
    if not arg:
        await message.answer(
            tr.gettext("Usage: /segment NAME or /segment DSL, e.g. /segment tag:funnel within 7d")
        )
        return
    text = audience_text(arg, services.policy)
    try:
        tree = resolve(text, services.policy)
    except DslError as exc:
        await answer_blocks(message, dsl_error_blocks(text, exc, tr), tr)
        return
    async with SegmentContext(services.db, services.policy, now) as ctx:
        size = await ctx.count(tree)
        total = await ctx.count("all")
        reach = await reach_counts(ctx, tree)
        rfm = await rfm_breakdown(ctx, tree)
        sample = await people(services.db, await ctx.list(tree, limit=SAMPLE_SIZE))
    await answer_blocks(message, segment_blocks(arg, size, total, reach, rfm, sample, tr), tr)


async def rfm(message: Message, services: BotServices, tr: Translator, now: datetime) -> None:
    async with SegmentContext(services.db, services.policy, now) as ctx:
        counts = await ctx.rfm_counts()
    await answer_blocks(message, rfm_blocks(counts, tr), tr)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_segments")
    router.message.register(all_segments, Command("segments"), flags=needs("viewer", "segments"))
    router.message.register(one_segment, Command("segment"), flags=needs("viewer", "segment"))
    router.message.register(rfm, Command("rfm"), flags=needs("viewer", "rfm"))
    return router
