"""One Bot API request's parameters, whatever the encoding, and the errors Telegram answers with.

Telegram accepts the same parameters as a query string, JSON, urlencoded or multipart form; in forms
every value is a string and nested objects (reply_markup, scope…) are JSON text. `Params` hides that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


class ApiError(Exception):
    """A refusal in Telegram's exact shape: HTTP status = error_code, a description, maybe retry_after."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def json(self) -> Json:
        body: Json = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Typed access to request values; a missing or malformed required value is Telegram's 400."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def __contains__(self, name: str) -> bool:
        return name in self.values and self.values[name] not in (None, "")

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a string")
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def obj(self, name: str, what: str | None = None) -> Any:
        """A nested JSON object or array (JSON text in forms); None when absent."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def chat_id(self) -> int | str:
        """An integer chat id or an @username, as Telegram accepts."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an upload (direct part or `attach://part`), or a file_id / URL string."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.values.get(value.removeprefix("attach://"))
            if value is None:
                raise bad_request(f"can't find attached file for {name}")
        if value is None or value == "" or isinstance(value, Upload | str):
            return value or None
        raise bad_request(f"wrong file identifier/HTTP URL specified for {name}")
