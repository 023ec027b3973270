"""Deterministic holdout and A/B variant assignment (SPEC §4): a hash of ids, no randomness, no state.

The same campaign and contact always land in the same group, on every machine and every re-plan, so a
dry run, the plan it approved and the uplift report all agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from hashlib import sha256


def unit_hash(key: str) -> float:
    """The first 8 bytes of SHA-256(key), big-endian, scaled into [0, 1)."""
    return int.from_bytes(sha256(key.encode()).digest()[:8], "big") / 2**64


def in_holdout(campaign_id: str, contact_id: str, share: float) -> bool:
    """Whether the contact is kept back as control: h < share for key "campaign:contact"."""
    return unit_hash(f"{campaign_id}:{contact_id}") < share


def variant_for(campaign_id: str, contact_id: str, variants: Sequence[tuple[str, float]]) -> str:
    """The A/B variant for the contact: h over key "campaign:variant:contact" against cumulative weights
    in the given order.

    Weights need not sum to 1: they are normalised by their total (so 1, 1 means half and half). The
    last variant with a positive weight takes whatever float rounding leaves at the top of [0, 1).
    """
    bounds, last = _cumulative(tuple(variants))
    h = unit_hash(f"{campaign_id}:variant:{contact_id}")
    for name, bound in bounds:
        if h < bound:
            return name
    return last


@lru_cache(maxsize=256)
def _cumulative(variants: tuple[tuple[str, float], ...]) -> tuple[tuple[tuple[str, float], ...], str]:
    """(name, upper bound in [0, 1)) of each variant with a positive weight, and the last such name;
    worked out once per list of variants, not once per contact."""
    if not variants:
        raise ValueError("a campaign with A/B assignment needs at least one variant")
    if any(weight < 0 for _, weight in variants):
        raise ValueError("variant weights must not be negative")
    total = sum(weight for _, weight in variants)
    if total <= 0:
        raise ValueError("variant weights must add up to more than zero")
    bounds = []
    cumulative = 0.0
    for name, weight in variants:
        cumulative += weight / total
        if weight > 0:
            bounds.append((name, cumulative))
    return tuple(bounds), next(name for name, weight in reversed(variants) if weight > 0)
