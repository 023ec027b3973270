"""Both log formats carry a record's `event` and ids: grep `event=send_failed` or select it with jq."""

from __future__ import annotations

import json
import logging

from ritm.logs import JsonFormatter, TextFormatter


def record() -> logging.LogRecord:
    rec = logging.makeLogRecord(
        {"name": "dispatcher.worker", "levelno": logging.WARNING, "levelname": "WARNING"}
    )
    rec.msg = "email to k05 failed (campaign h-1): 550 5.1.1 no such user"
    rec.__dict__.update(event="send_failed", contact="k05", channel="email", detail="550 5.1.1 no such user")
    return rec


def test_text_line_has_the_message_then_the_fields_event_first() -> None:
    line = TextFormatter().format(record())
    assert "\n" not in line and " WARNING email to k05 failed" in line
    assert line.endswith('event=send_failed contact=k05 channel=email detail="550 5.1.1 no such user"')


def test_json_line_is_one_object_with_the_fields() -> None:
    data = json.loads(JsonFormatter().format(record()))
    assert data["event"] == "send_failed" and data["contact"] == "k05" and data["level"] == "warning"
    assert data["msg"].startswith("email to k05") and data["ts"].endswith("Z")
