"""`POST /hooks/sms`: SMS.ru's delivery reports (callbacks) → each message delivered or failed.

SMS.ru signs a callback with the account's api_id (`dispatcher.channels.smsru_wire`); a callback
without a valid `hash`, or one when no api_id is configured, gets 403 and changes nothing. An item
that is not an `sms_status` (SMS.ru's `callback_check` probe) is skipped; a malformed one refuses the
whole callback with 400, nothing stored. The answer SMS.ru waits for is `100`.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from dispatcher.channels import smsru_wire as wire
from storage.db import Database
from storage.sms import SmsReport, record_sms_reports

log = logging.getLogger(__name__)

_DATA_KEY = re.compile(r"data\[(\d{0,4})\]")
MAX_ITEMS = 1000


def add_sms_routes(app: web.Application, db: Database, api_id: str | None) -> None:
    async def callback(request: web.Request) -> web.Response:
        form = await request.post()
        items: list[tuple[int, str]] = []
        for key, value in form.items():
            found = _DATA_KEY.fullmatch(key)
            if found is not None and isinstance(value, str):
                items.append((int(found.group(1) or len(items)), value))
        data = [value for _, value in sorted(items, key=lambda item: item[0])]
        given = form.get("hash")
        if api_id is None or not isinstance(given, str) or not wire.callback_signed(api_id, data, given):
            log.warning("sms callback refused", extra={"event": "sms_callback_forged", "items": len(data)})
            return web.Response(status=403, text="bad hash: the callback is not signed with our api_id")
        if len(data) > MAX_ITEMS:
            return web.Response(status=400, text=f"more than {MAX_ITEMS} items in one callback")
        reports = []
        try:
            for text in data:
                item = wire.parse_status_line(text)
                state = wire.report_of(item.code) if item is not None else None
                if item is not None and state is not None:
                    reports.append(SmsReport(item.sms_id, state, item.code, item.at))
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        matched = await record_sms_reports(db, reports)
        log.info(
            "sms delivery reports",
            extra={"event": "sms_reports", "items": len(data), "final": len(reports), "matched": matched},
        )
        return web.Response(text="100")

    app.router.add_post("/hooks/sms", callback)
