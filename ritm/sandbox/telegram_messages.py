"""Bot API methods that send, edit and delete messages, answered as Telegram answers them.

Checks run in Telegram's order as far as it shows: the chat must exist, the bot must not be blocked,
the text must parse and fit, and only then is the send counted against the flood limits.
"""

from __future__ import annotations

from typing import Any

from ritm.sandbox.telegram_html import EntityParseError, parse_html
from ritm.sandbox.telegram_limits import FloodControl
from ritm.sandbox.telegram_params import ApiError, Json, Params, Upload, bad_request
from ritm.sandbox.telegram_records import Chat, SentMessage, StoredFile
from ritm.sandbox.telegram_state import TelegramWorld

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "pay",
    "callback_game",
    "copy_text",
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def _formatted(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[Json]]:
    if parse_mode and parse_mode.lower() == "html":
        try:
            parsed = parse_html(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        return parsed.text, parsed.entities
    # Markdown modes are not used by the product: their text is kept as sent.
    return text, list(entities or [])


def _check_markup(markup: Any) -> Json | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards and removals are stored as sent
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if len(actions) != 1:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return markup


class MessageMethods:
    """sendMessage, sendDocument, sendPhoto, edits, deleteMessage, answerCallbackQuery and getChat."""

    world: TelegramWorld
    flood: FloodControl

    # ---- shared checks ---------------------------------------------------------------------------
    def _chat(self, params: Params) -> Chat:
        ref = params.chat_id()
        if isinstance(ref, str):
            found = [c for c in self.world.chats.values() if c.username and "@" + c.username == ref]
            if not found:
                raise bad_request("chat not found")
            return found[0]
        chat = self.world.resolve_chat(ref)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable(self, params: Params) -> Chat:
        chat = self._chat(params)
        if chat.id in self.world.blocked:
            reason = (
                "bot was blocked by the user"
                if chat.type == "private"
                else "bot was kicked from the group chat"
            )
            raise ApiError(403, f"Forbidden: {reason}")
        return chat

    def _admit(self, chat: Chat) -> None:
        retry_after = self.flood.admit(chat.id)
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    def _own_message(self, params: Params, action: str) -> SentMessage:
        chat = self._chat(params)
        message_id = params.integer("message_id", required=True)
        sent = self.world.find_sent(chat.id, message_id or 0)
        if sent is None:
            raise bad_request(f"message to {action} not found")
        return sent

    async def _publish(self, sent: SentMessage) -> Json:
        self.world.record(sent)
        return self.world.message_json(sent)

    # ---- sending ---------------------------------------------------------------------------------
    async def sendMessage(self, params: Params) -> Json:
        chat = self._writable(params)
        source = params.text("text")
        if source is None:
            raise bad_request("message text is empty")
        parse_mode = params.text("parse_mode")
        text, entities = _formatted(source, parse_mode, params.obj("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _check_markup(params.obj("reply_markup", "reply keyboard markup"))
        preview = params.obj("link_preview_options", "link preview options") or {}
        no_preview = bool(preview.get("is_disabled")) or params.flag("disable_web_page_preview")
        self._admit(chat)
        sent = SentMessage(
            self.world.next_message_id(chat),
            chat.id,
            self.world.now(),
            "sendMessage",
            html=source,
            text=text,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_disabled=no_preview,
        )
        return await self._publish(sent)

    async def sendDocument(self, params: Params) -> Json:
        return await self._send_file(params, "document")

    async def sendPhoto(self, params: Params) -> Json:
        return await self._send_file(params, "photo")

    async def _send_file(self, params: Params, kind: str) -> Json:
        chat = self._writable(params)
        given = params.file(kind)
        if given is None:
            raise bad_request(f"there is no {kind} in the request")
        caption, parse_mode = params.text("caption"), params.text("parse_mode")
        text, entities = (
            _formatted(caption, parse_mode, params.obj("caption_entities")) if caption else (None, [])
        )
        if text is not None and len(text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        markup = _check_markup(params.obj("reply_markup", "reply keyboard markup"))
        stored = self._stored(given, kind)
        self._admit(chat)
        sent = SentMessage(
            self.world.next_message_id(chat),
            chat.id,
            self.world.now(),
            f"send{kind.title()}",
            html=caption,
            text=text,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            document=stored if kind == "document" else None,
            photo=stored if kind == "photo" else None,
        )
        return await self._publish(sent)

    def _stored(self, given: Upload | str, kind: str) -> StoredFile:
        if isinstance(given, Upload):
            return self.world.store_file(given.data, given.filename, given.content_type)
        known = self.world.files.get(given)
        if known is not None:
            return known
        if given.startswith(("http://", "https://")):  # Telegram would fetch it; its name is enough here
            return self.world.store_file(b"", given.rsplit("/", 1)[-1] or kind, None)
        raise bad_request("wrong file identifier/HTTP URL specified")

    # ---- after sending ---------------------------------------------------------------------------
    async def editMessageText(self, params: Params) -> Json:
        sent = self._own_message(params, "edit")
        if sent.method != "sendMessage":
            raise bad_request("there is no text in the message to edit")
        source = params.text("text", required=True) or ""
        parse_mode = params.text("parse_mode")
        text, entities = _formatted(source, parse_mode, params.obj("entities"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _check_markup(params.obj("reply_markup", "reply keyboard markup"))
        if text == sent.text and entities == sent.entities and markup == sent.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        sent.html, sent.text, sent.entities, sent.parse_mode = source, text, entities, parse_mode
        sent.reply_markup, sent.edited = markup, True
        self.world.changed.notify()
        return self.world.message_json(sent)

    async def editMessageReplyMarkup(self, params: Params) -> Json:
        sent = self._own_message(params, "edit")
        markup = _check_markup(params.obj("reply_markup", "reply keyboard markup"))
        if markup == sent.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        sent.reply_markup, sent.edited = markup, True
        self.world.changed.notify()
        return self.world.message_json(sent)

    async def deleteMessage(self, params: Params) -> bool:
        self._own_message(params, "delete").deleted = True
        self.world.changed.notify()
        return True

    async def answerCallbackQuery(self, params: Params) -> bool:
        query_id = params.text("callback_query_id", required=True) or ""
        query = self.world.callbacks.get(query_id)
        if query is None or query.answer is not None:
            raise bad_request(_QUERY_INVALID)
        query.answer = {
            "text": params.text("text"),
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        self.world.changed.notify()
        return True

    async def getChat(self, params: Params) -> Json:
        chat = self._chat(params)
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            True,
        )
        return {**chat.json(), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}
