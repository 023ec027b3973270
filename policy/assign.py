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
    return _unit(key.encode())


def _unit(key: bytes) -> float:
    return int.from_bytes(sha256(key).digest()[:8], "big") / 2**64


def in_holdout(campaign_id: str, contact_id: str, share: float) -> bool:
    """Whether the contact is kept back as control: h < share for key "campaign:contact"."""
    return Assigner(campaign_id, share).holdout(contact_id)


def variant_for(campaign_id: str, contact_id: str, variants: Sequence[tuple[str, float]]) -> str:
    """The A/B variant for the contact: h over key "campaign:variant:contact" against cumulative weights
    in the given order.

    Weights need not sum to 1: they are normalised by their total (so 1, 1 means half and half). The
    last variant with a positive weight takes whatever float rounding leaves at the top of [0, 1).
    """
    found = Assigner(campaign_id, 0.0, variants).variant(contact_id)
    assert found is not None  # `_cumulative` raised for a list without variants
    return found


class Assigner:
    """`in_holdout` and `variant_for` for many contacts of one campaign: the keys' campaign part and
    the variants' bounds are worked out once, not once per contact."""

    __slots__ = ("_bounds", "_holdout_key", "_last", "_variant_key", "share")

    def __init__(
        self, campaign_id: str, share: float, variants: Sequence[tuple[str, float]] | None = None
    ) -> None:
        self.share = share
        self._holdout_key = f"{campaign_id}:".encode()
        self._variant_key = f"{campaign_id}:variant:".encode()
        # None: no A/B test; an empty list is an error, as in `variant_for`.
        found = _cumulative(tuple(variants)) if variants is not None else None
        self._bounds: tuple[tuple[str, float], ...] = found[0] if found is not None else ()
        self._last: str | None = found[1] if found is not None else None

    def holdout(self, contact_id: str) -> bool:
        return self._held(contact_id.encode())

    def variant(self, contact_id: str) -> str | None:
        """None without variants."""
        return self._variant(contact_id.encode())

    def assign(self, contact_id: str) -> tuple[bool, str | None]:
        """(holdout, variant) in one call: a planner asks both of every contact of a base."""
        key = contact_id.encode()
        return self._held(key), self._variant(key)

    def _held(self, key: bytes) -> bool:
        # A hash is never below a share of 0: no need to compute it.
        return self.share > 0 and _unit(self._holdout_key + key) < self.share

    def _variant(self, key: bytes) -> str | None:
        if self._last is None:
            return None
        h = _unit(self._variant_key + key)
        for name, bound in self._bounds:
            if h < bound:
                return name
        return self._last


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
