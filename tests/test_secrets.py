"""`ritm run` refuses to start without a real secret; a rotated-out secret still verifies old links."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatcher.hooks import sign_hook, verify_hook_signature
from policy.timeutil import to_epoch
from ritm.services import link_signer
from ritm.settings import PLACEHOLDER_SECRET, Settings, public_url_warning, secret_problem
from tests.secret_support import TEST_SECRET

GOOD = "k" * 32
OLD = "o" * 48


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({}, "RITM_SECRET is the shipped placeholder"),
        ({"secret": ""}, "RITM_SECRET is empty"),
        ({"secret": "   "}, "RITM_SECRET is empty"),
        ({"secret": "k" * 31}, "RITM_SECRET is shorter than 32 bytes"),
        ({"secret": "я" * 15}, "RITM_SECRET is shorter than 32 bytes"),  # 30 bytes in UTF-8
        ({"secret": GOOD, "secret_previous": PLACEHOLDER_SECRET}, "RITM_SECRET_PREVIOUS is the shipped"),
        ({"secret": GOOD, "secret_previous": "short"}, "RITM_SECRET_PREVIOUS is shorter"),
        ({"secret": GOOD}, None),
        ({"secret": "я" * 16}, None),
        ({"secret": GOOD, "secret_previous": ""}, None),  # an empty previous secret is no rotation
        ({"secret": GOOD, "secret_previous": OLD}, None),
    ],
)
def test_which_secrets_can_protect_links(values: dict[str, object], why: str | None) -> None:
    problem = secret_problem(settings(**values))
    if why is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(why) and "secrets.token_urlsafe(48)" in problem


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://127.0.0.1:8080", "loopback"),
        ("https://localhost", "loopback"),
        ("https://[::1]:8443", "loopback"),
        ("http://ritm.school.example", "not https"),
        ("https://ritm.school.example", None),
        ("https://203.0.113.7", None),
    ],
)
def test_public_url_warnings(url: str, warns: str | None) -> None:
    warning = public_url_warning(settings(public_url=url))
    assert (warning is None) if warns is None else (warning is not None and warns in warning)


def test_after_a_rotation_old_links_verify_and_new_ones_use_the_new_secret() -> None:
    before = link_signer(settings(secret=OLD, public_url="https://s.example"))
    after = link_signer(settings(secret=GOOD, secret_previous=OLD, public_url="https://s.example"))
    alone = link_signer(settings(secret=GOOD, public_url="https://s.example"))
    old_unsubscribe = before.unsubscribe_url("c1", "email", "camp").rsplit("/", 1)[1]
    old_start = before.start_token("c1")
    assert after.unsubscribe_parts(old_unsubscribe) is not None
    assert after.start_contact(old_start) == "c1"
    assert alone.unsubscribe_parts(old_unsubscribe) is None and alone.start_contact(old_start) is None
    new_start = after.start_token("c1")
    assert alone.start_contact(new_start) == "c1" and before.start_contact(new_start) is None
    stranger = link_signer(settings(secret=TEST_SECRET)).start_token("c1")
    assert after.start_contact(stranger) is None


def test_a_webhook_signed_with_the_previous_secret_verifies() -> None:
    now = datetime(2026, 11, 24, 9, tzinfo=UTC)
    body = b'{"tags": []}'
    stamp = str(to_epoch(now))
    signature = sign_hook(OLD, body, int(stamp))
    assert verify_hook_signature((GOOD, OLD), body, stamp, signature, now=now, tolerance_s=300)
    assert not verify_hook_signature((GOOD,), body, stamp, signature, now=now, tolerance_s=300)
    for odd in ("sha256=é", "", "sha256=" + "0" * 64):
        assert not verify_hook_signature((GOOD, OLD), body, stamp, odd, now=now, tolerance_s=300)
    for stamp_text in ("٣", "-1", "1" * 40, ""):
        assert not verify_hook_signature((GOOD,), body, stamp_text, signature, now=now, tolerance_s=300)


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RITM_")}
    return {**env, "RITM_DB": str(tmp_path / "ritm.db"), "RITM_HTTP_PORT": "0", **values}


@pytest.mark.parametrize("secret", [None, "", "short", PLACEHOLDER_SECRET])
async def test_ritm_run_refuses_to_start_without_a_real_secret(tmp_path: Path, secret: str | None) -> None:
    env = _env(tmp_path) if secret is None else _env(tmp_path, RITM_SECRET=secret)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    text = err.decode()
    assert process.returncode == 2, text
    assert text.startswith("error: RITM_SECRET") and "Traceback" not in text
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in " ".join(text.split())
    assert not (tmp_path / "ritm.db").exists()  # refused before touching anything


async def test_ritm_run_starts_with_a_real_secret_and_warns_about_a_loopback_url(tmp_path: Path) -> None:
    env = _env(tmp_path, RITM_SECRET=TEST_SECRET, RITM_PUBLIC_URL="http://127.0.0.1:8080")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm", "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("RITM_PUBLIC_URL" in line for line in seen):
                line = (await process.stderr.readline()).decode()
                assert line, "ritm run exited: " + "".join(seen)
                seen.append(line)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=60)
    assert any("loopback" in line for line in seen), seen
