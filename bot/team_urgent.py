"""/urgent: a service message to a segment, fired from the chat in four steps.

segment (buttons, typed name or DSL, or `/urgent <segment or DSL>`) → text → preview with the audience
size → Send. It then becomes a service campaign (`bot.urgent_campaign`) that goes through the same
service as any file: add (author = the operator), dry run, plan — service messages need no approval,
and they ignore caps, quiet hours and silences (consent still applies), pause included.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.errors import CAMPAIGN_ERRORS, refusal
from bot.format import esc
from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_base import channel_name, dsl_error_blocks
from bot.report_campaign import contacts, reason_name
from bot.roles import needs
from bot.services import BotServices
from bot.team_segments import audience_text, reach_counts, reachable_expr
from bot.urgent_campaign import urgent_id, urgent_toml
from dispatcher.render import sample_context
from policy.dsl import DslError
from policy.segment_names import resolve
from storage.campaigns import list_campaigns
from storage.segments import SegmentContext
from storage.team import Member

PREFIX = "urg"
MAX_TEXT = 3500  # leaves room in one Telegram message for the preview's frame
MAX_NAME_BYTES = 50  # a segment name must fit in the 64 bytes of callback data


class Urgent(StatesGroup):
    audience = State()
    text = State()
    confirm = State()


def segment_keyboard(names: list[str], tr: Translator) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=tr.plain("Everyone"), callback_data=f"{PREFIX}:seg:all")]
    buttons += [
        InlineKeyboardButton(text=name, callback_data=f"{PREFIX}:seg:{name}")
        for name in names
        if len(name.encode()) <= MAX_NAME_BYTES
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(text=tr.plain("Cancel"), callback_data=f"{PREFIX}:no")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=tr.plain("🚨 Send now"), callback_data=f"{PREFIX}:go"),
                InlineKeyboardButton(text=tr.plain("Cancel"), callback_data=f"{PREFIX}:no"),
            ]
        ]
    )


async def urgent(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    services: BotServices,
    tr: Translator,
    now: datetime,
) -> None:
    await state.clear()
    arg = (command.args or "").strip()
    if arg:
        await _choose(message, state, services, tr, now, arg)
        return
    await state.set_state(Urgent.audience)
    await message.answer(
        tr.gettext("🚨 Urgent service message. Who gets it? Pick a segment or type a name or DSL."),
        reply_markup=segment_keyboard(list(services.policy.segments), tr),
    )


async def segment_chosen(
    callback: CallbackQuery, state: FSMContext, services: BotServices, tr: Translator, now: datetime
) -> None:
    name = (callback.data or "").split(":", 2)[2]
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await _choose(callback.message, state, services, tr, now, name)


async def segment_typed(
    message: Message, state: FSMContext, services: BotServices, tr: Translator, now: datetime
) -> None:
    if (message.text or "").startswith("/"):
        await message.answer(tr.gettext("Pick a segment, type a name or DSL, or /cancel."))
        return
    await _choose(message, state, services, tr, now, message.text or "")


async def _choose(
    message: Message, state: FSMContext, services: BotServices, tr: Translator, now: datetime, arg: str
) -> None:
    audience = audience_text(arg, services.policy)
    try:
        tree = resolve(audience, services.policy)
    except DslError as exc:
        await answer_blocks(message, dsl_error_blocks(audience, exc, tr), tr)
        return
    async with SegmentContext(services.db, services.policy, now) as ctx:
        size = await ctx.count(tree)
        reachable = await ctx.count(reachable_expr(tree))
        reach = await reach_counts(ctx, tree)
    await state.set_state(Urgent.text)
    await state.update_data(audience=audience, label=arg.strip())
    by_channel = ", ".join(f"{channel_name(tr, ch)} {n}" for ch, n in reach.items())
    await message.answer(
        tr.gettext(
            "Audience «{label}»: {size}, reachable {reachable} ({channels}).\n"
            "Now write the message text (plain text), or /cancel.",
            label=arg.strip(),
            size=contacts(tr, size),
            reachable=reachable,
            channels=by_channel,
        )
    )


async def text_typed(
    message: Message, state: FSMContext, services: BotServices, tr: Translator, now: datetime
) -> None:
    text = (message.text or "").strip()
    if not text or text.startswith("/"):
        await message.answer(tr.gettext("Write the message text, or /cancel."))
        return
    if len(text) > MAX_TEXT:
        await message.answer(tr.gettext("The text is too long: at most {n} characters.", n=MAX_TEXT))
        return
    data = await state.get_data()
    source = urgent_toml(
        campaign_id=urgent_id(now, set()),
        name=tr.plain("Urgent"),
        audience=data["audience"],
        text=text,
        now=now,
    )
    try:
        campaign = await services.campaigns.parse(source, "urgent message")
        preview = await services.campaigns.renderer.preview_async(
            campaign, "urgent", "telegram", sample_context(services.policy.default_timezone)
        )
    except CAMPAIGN_ERRORS as exc:
        await message.answer(refusal(exc, tr))
        return
    await state.set_state(Urgent.confirm)
    await state.update_data(text=text)
    blocks: list[str] = [
        tr.gettext("<b>Preview</b> (Telegram; email subject: «{subject}»):", subject=preview.subject),
        f"<blockquote>{preview.telegram or esc(preview.text)}</blockquote>",
        tr.gettext(
            "Audience «{label}». It goes out at once as a service message: no caps, quiet hours "
            "or silences apply; consent does.",
            label=data["label"],
        ),
    ]
    await answer_blocks(message, blocks, tr, reply_markup=confirm_keyboard(tr))


async def send(
    callback: CallbackQuery,
    state: FSMContext,
    services: BotServices,
    member: Member,
    tr: Translator,
    now: datetime,
) -> None:
    data = await state.get_data()
    await state.clear()
    await callback.answer()
    message = callback.message
    if not isinstance(message, Message):
        return
    await message.edit_reply_markup(reply_markup=None)
    taken = {record.id for record in await list_campaigns(services.db)}
    campaign_id = urgent_id(now, taken)
    name = tr.plain("Urgent: {label}", label=data["label"])
    source = urgent_toml(
        campaign_id=campaign_id, name=name, audience=data["audience"], text=data["text"], now=now
    )
    by = str(member.user_id)
    try:
        await services.campaigns.add(source, f"{campaign_id}.toml", by=by, at=now, source="bot")
        await services.campaigns.dry_run(campaign_id, at=now, by=by, source="bot")
        result = await services.campaigns.plan(campaign_id, at=now, by=by, source="bot")
    except CAMPAIGN_ERRORS as exc:
        await message.answer(refusal(exc, tr))
        return
    report = result.report
    blocks: list[str] = [
        tr.gettext("🚨 <b>{id}</b> is on its way: {n} planned now.", id=campaign_id, n=report.planned),
    ]
    if report.by_channel:
        blocks.append(", ".join(f"{channel_name(tr, ch)}: {n}" for ch, n in report.by_channel.items()))
    for reason, n in report.excluded.items():
        blocks.append(f"  • {reason_name(tr, reason)}: {n}")
    blocks.append(tr.gettext("Results: /stats {id}", id=campaign_id))
    await answer_blocks(message, blocks, tr)


async def stale_send(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(
        tr.plain("This preview is no longer active: start again with /urgent."), show_alert=True
    )


async def cancel_button(callback: CallbackQuery, state: FSMContext, tr: Translator) -> None:
    await state.clear()
    await callback.answer(tr.plain("Cancelled."))
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)


async def cancel(message: Message, state: FSMContext, tr: Translator) -> None:
    had = await state.get_state() is not None
    await state.clear()
    await message.answer(tr.gettext("Cancelled.") if had else tr.gettext("Nothing to cancel."))


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_urgent")
    # /cancel first: in the middle of the dialog it must not be taken for the awaited text.
    router.message.register(cancel, Command("cancel"), flags=needs("operator", "cancel"))
    router.message.register(urgent, Command("urgent"), flags=needs("operator", "urgent"))
    router.callback_query.register(
        segment_chosen,
        Urgent.audience,
        F.data.startswith(f"{PREFIX}:seg:"),
        flags=needs("operator", "urgent"),
    )
    router.message.register(segment_typed, Urgent.audience, F.text, flags=needs("operator", "urgent"))
    router.message.register(text_typed, Urgent.text, F.text, flags=needs("operator", "urgent_text"))
    router.callback_query.register(
        send, Urgent.confirm, F.data == f"{PREFIX}:go", flags=needs("operator", "urgent_send")
    )
    router.callback_query.register(
        stale_send, F.data == f"{PREFIX}:go", flags=needs("operator", "urgent_send")
    )
    router.callback_query.register(cancel_button, F.data == f"{PREFIX}:no", flags=needs("operator", "cancel"))
    return router
