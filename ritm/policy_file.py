"""Loading the policy file: the shipped commented default, or the file the settings name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from policy.config import Policy, PolicyError, parse_policy
from policy.segment_names import check_policy_segments


def default_policy_text() -> str:
    return resources.files("ritm").joinpath("default_policy.toml").read_text(encoding="utf-8")


def load_policy(path: Path | None) -> Policy:
    """The validated policy; every named segment must parse and resolve (PolicyError otherwise)."""
    if path is None:
        policy = parse_policy(default_policy_text(), "default policy")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise PolicyError(f"cannot read policy file {path}: it is not UTF-8 text") from None
        policy = parse_policy(text, path.name)
    check_policy_segments(policy)
    return policy
