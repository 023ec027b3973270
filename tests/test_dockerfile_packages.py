"""The image installs every package the project ships: a package left out of the Dockerfile's COPY lines
builds fine and fails only when `ritm run` imports it in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_copies_every_shipped_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = {p.rstrip("*") for p in patterns}
    copied = set(re.findall(r"^COPY (\S+) \1$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M))
    assert shipped <= copied, f"Dockerfile does not COPY {sorted(shipped - copied)}"
