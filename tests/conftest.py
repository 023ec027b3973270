"""Shared fixtures: real SQLite files in tmp_path, the worked example, the default policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from policy.config import Policy
from ritm.policy_file import load_policy
from storage.db import Database

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def worked_dir() -> Path:
    """The SPEC's worked example: a small base, a policy, a campaign and the results they give."""
    return FIXTURES / "worked"


@pytest.fixture
def default_policy() -> Policy:
    return load_policy(None)


@pytest.fixture
def worked_policy(worked_dir: Path) -> Policy:
    return load_policy(worked_dir / "policy.toml")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ritm.db")
    try:
        yield database
    finally:
        await database.close()
