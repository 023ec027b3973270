"""Log output of `ritm run`: one line per meaningful event, as text or JSON, with its `event` key.

Every record the code writes carries `extra={"event": …, ids…}`; both formats print those fields, so a
grep for `event=send_failed` (text) or a `jq 'select(.event == "send_failed")'` (JSON) finds the same
lines. APScheduler's per-run "Running job …" lines say nothing an idle tick did: they are silenced.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
# Attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Chatty at INFO on every job run or request; their warnings and errors still show.
QUIET_LOGGERS = ("aiohttp.access", "aiogram.event")
# APScheduler also warns each time a tick outlasts the interval and the next run is skipped: by
# design (one tick at a time, coalesced), so only its errors show; a failing job logs `job_error`.


def fields(record: logging.LogRecord) -> dict[str, object]:
    """The `extra` fields of a record, `event` first."""
    found = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
    event = found.pop("event", None)
    return {"event": event, **found} if event is not None else found


def _stamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`2026-12-01T21:05:00Z WARNING email to k05 failed: … event=send_failed contact=k05 …`"""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields(record).items())
        line = f"{_stamp(record)} {record.levelname} {record.getMessage()}"
        if pairs:
            line += f"  {pairs}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": _stamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **fields(record),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def _text(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Route every record to stderr in `log_format`; silence the per-run chatter of the libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
