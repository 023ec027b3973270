"""Helpers for the email tests: settings pointing at the sandbox server, messages, a throwaway TLS pair."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatcher.channels.base import Attachment, EmailMessage
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.settings import SmtpSettings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SENDER = "Школа Ритм <noreply@school.example>"


def settings_for(server: CapturingSmtpServer, **overrides: object) -> SmtpSettings:
    """SmtpSettings aimed at `server`: fast pace, short timeout, plain SMTP unless overridden."""
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "sender": SENDER,
        "pool_size": 2,
        "rate_per_s": 100_000.0,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return SmtpSettings.model_validate(values)


def message(to: str = "ivan@example.com", **fields: object) -> EmailMessage:
    """A small Russian two-part message; any field can be replaced."""
    base: dict[str, object] = {
        "to": to,
        "subject": "Эфир: база как актив — начинаем в 19:00",
        "text": "Иван, здравствуйте!\nЭфир начнётся в 19:00 по Москве.",
        "html": "<p>Иван, здравствуйте!</p><p>Эфир начнётся в <b>19:00</b> по Москве.</p>",
    }
    base.update(fields)
    return EmailMessage(**base)  # type: ignore[arg-type]


def ics_attachment(data: bytes) -> tuple[Attachment, ...]:
    return (Attachment(filename="webinar.ics", content_type="text/calendar", data=data),)


def tls_pair(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts around a fresh self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
