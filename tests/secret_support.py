"""The tests' signing secret: generated per run, like `ritm demo` does, never a shipped constant."""

from __future__ import annotations

import secrets

TEST_SECRET = secrets.token_urlsafe(48)
