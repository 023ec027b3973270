"""VERP and DKIM on the wire: the email adapter against the aiosmtpd sandbox, verified with dkimpy."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import dkim
import pytest

from dispatcher.channels.email import EmailChannel
from dispatcher.channels.envelope import EnvelopeError, build_envelope, verp_address, verp_outbox_id
from ritm.sandbox.smtp_server import CapturingSmtpServer
from tests.email_support import NOW, message, settings_for
from tests.secret_support import TEST_SECRET

SENDER = "noreply@school.example"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[CapturingSmtpServer]:
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp:
        yield smtp


def rsa_key(directory: Path) -> tuple[Path, bytes]:
    """(private key file, the public key as a DNS TXT record would publish it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a DKIM key")
    key = directory / "dkim.pem"
    subprocess.run([openssl, "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(
        [openssl, "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


async def send_one(server: CapturingSmtpServer, envelope: object, **fields: object) -> bytes:
    channel = EmailChannel(settings_for(server), clock=lambda: NOW, envelope=envelope)  # type: ignore[arg-type]
    try:
        result = await channel.send(message(**fields))
    finally:
        await channel.close()
    assert result.kind == "sent", result
    return server.messages[-1].raw


async def test_a_dkim_signature_on_the_captured_message_verifies(
    server: CapturingSmtpServer, tmp_path: Path
) -> None:
    key, record = rsa_key(tmp_path)
    envelope = build_envelope(SENDER, return_path=None, dkim_key=str(key), dkim_selector="ritm2026")
    raw = await send_one(server, envelope, headers={"X-Ritm-Outbox": "7"})
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return record

    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim.verify(raw, dnsfunc=dns)
    assert looked_up == [b"ritm2026._domainkey.school.example."]
    assert not dkim.verify(raw.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1), dnsfunc=dns)
    assert not dkim.verify(raw + b"P.S. added on the way\r\n", dnsfunc=dns)
    assert server.messages[-1].mail_from == SENDER  # DKIM alone keeps the envelope sender


async def test_verp_puts_the_outbox_row_in_the_envelope_sender(server: CapturingSmtpServer) -> None:
    envelope = build_envelope(SENDER, return_path="bounces@school.example", dkim_key=None, dkim_selector=None)
    raw = await send_one(server, envelope, headers={"X-Ritm-Outbox": "12345"})
    assert server.messages[-1].mail_from == "bounces+12345@school.example"
    assert not raw.startswith(b"DKIM-Signature")
    await send_one(server, envelope)  # a message without an outbox row keeps the plain sender
    assert server.messages[-1].mail_from == SENDER


def test_without_verp_or_dkim_there_is_no_envelope_at_all() -> None:
    assert build_envelope(SENDER, return_path=None, dkim_key=None, dkim_selector=None) is None


def test_a_verp_address_names_its_row_only_under_our_return_path() -> None:
    address = verp_address("bounces@school.example", 42)
    assert address == "bounces+42@school.example"
    assert verp_outbox_id("bounces@school.example", "<Bounces+42@School.Example>") == 42
    assert verp_outbox_id("bounces@school.example", "bounces+42@other.example") is None
    assert verp_outbox_id("bounces@school.example", "other+42@school.example") is None
    assert verp_outbox_id("bounces@school.example", "bounces+x42@school.example") is None


@pytest.mark.parametrize(
    ("settings", "message_part"),
    [
        ({"dkim_key": "/nonexistent/dkim.pem", "dkim_selector": "s1"}, "RITM_SMTP__DKIM_KEY: cannot read"),
        ({"dkim_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "dkim_selector": "s1"},
         "RITM_SMTP__DKIM_KEY: not a usable"),
        ({"dkim_key": "/x.pem", "dkim_selector": None}, "set together"),
        ({"dkim_key": "-----BEGIN X-----", "dkim_selector": "two words"}, "RITM_SMTP__DKIM_SELECTOR"),
        ({"return_path": "not an address"}, "RITM_SMTP__RETURN_PATH"),
    ],
)  # fmt: skip
def test_a_bad_verp_or_dkim_setting_is_one_sentence_naming_it(
    settings: dict[str, str], message_part: str
) -> None:
    values = {"return_path": None, "dkim_key": None, "dkim_selector": None, **settings}
    with pytest.raises(EnvelopeError, match=message_part):
        build_envelope(SENDER, **values)


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        (
            {"RITM_SMTP__DKIM_KEY": "/nonexistent/dkim.pem", "RITM_SMTP__DKIM_SELECTOR": "s1"},
            "RITM_SMTP__DKIM_KEY",
        ),
        ({"RITM_SMTP__RETURN_PATH": "bounces"}, "RITM_SMTP__RETURN_PATH"),
    ],
)
async def test_ritm_run_refuses_a_bad_dkim_or_verp_setting_before_starting(
    tmp_path: Path, values: dict[str, str], variable: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RITM_")}
    env.update(RITM_DB=str(tmp_path / "ritm.db"), RITM_HTTP_PORT="0", RITM_SECRET=TEST_SECRET, **values)
    env["RITM_PUBLIC_URL"] = "https://school.example"  # no start-up warning before the error
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    text = err.decode()
    assert process.returncode == 2, text
    assert text.startswith(f"error: {variable}") and "Traceback" not in text
    assert not (tmp_path / "ritm.db").exists()  # refused before touching anything
