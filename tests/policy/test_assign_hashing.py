"""Holdout and A/B assignment: the SPEC's hash formula, determinism, shares and weight handling."""

from __future__ import annotations

import hashlib

import pytest

from policy.assign import Assigner, in_holdout, unit_hash, variant_for


def reference(key: str) -> float:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return sum(byte << (8 * (7 - i)) for i, byte in enumerate(digest[:8])) / 18446744073709551616


@pytest.mark.parametrize("key", ["worked-1:h00002", "digest-48:variant:42", "", "кампания:контакт"])
def test_unit_hash_is_the_spec_formula(key: str) -> None:
    assert unit_hash(key) == reference(key)
    assert 0.0 <= unit_hash(key) < 1.0


# First 8 bytes of SHA-256 of the key, as printed by `printf %s KEY | sha256sum` (an independent tool).
KNOWN = [
    ("a:b", "6783a31eabf68ccc"),
    ("worked-1:h00002", "a510d61359fbd340"),
    ("worked-1:variant:h00002", "96112531f67d06fb"),
]


@pytest.mark.parametrize(("key", "prefix"), KNOWN)
def test_known_vectors(key: str, prefix: str) -> None:
    assert hashlib.sha256(key.encode()).hexdigest().startswith(prefix)
    assert unit_hash(key) == int(prefix, 16) / 2**64


def test_holdout_and_variant_of_known_vectors() -> None:
    assert unit_hash("worked-1:h00002") == 0.6447881505246038
    assert in_holdout("worked-1", "h00002", 0.645) and not in_holdout("worked-1", "h00002", 0.6447)
    # "worked-1:variant:h00002" → 0.586…: past A's 0.5, inside B's cumulative 0.9.
    assert variant_for("worked-1", "h00002", [("A", 0.5), ("B", 0.4), ("C", 0.1)]) == "B"
    assert variant_for("worked-1", "h00002", [("A", 0.6), ("B", 0.4)]) == "A"


def test_holdout_is_deterministic_and_converges_to_the_share() -> None:
    ids = [f"c{i:05d}" for i in range(20_000)]
    held = [cid for cid in ids if in_holdout("camp-7", cid, 0.1)]
    assert held == [cid for cid in ids if in_holdout("camp-7", cid, 0.1)]
    assert abs(len(held) / len(ids) - 0.1) < 0.01  # ±1 point: about 4.7 standard deviations
    assert not any(in_holdout("camp-7", cid, 0.0) for cid in ids[:1000])
    assert all(in_holdout("camp-7", cid, 1.0) for cid in ids[:1000])
    # Another campaign draws another control group.
    assert held != [cid for cid in ids if in_holdout("camp-8", cid, 0.1)]


def test_variant_uses_its_own_key_and_cumulative_weights() -> None:
    variants = [("A", 0.2), ("B", 0.3), ("C", 0.5)]
    for i in range(200):
        h = reference(f"camp:variant:x{i}")
        expected = "A" if h < 0.2 else "B" if h < 0.5 else "C"
        assert variant_for("camp", f"x{i}", variants) == expected


def test_variant_shares_and_normalised_weights() -> None:
    ids = [f"c{i}" for i in range(20_000)]
    picks = [variant_for("camp", cid, [("A", 1), ("B", 3)]) for cid in ids]
    assert abs(picks.count("A") / len(ids) - 0.25) < 0.015
    assert picks == [variant_for("camp", cid, [("A", 0.25), ("B", 0.75)]) for cid in ids]
    assert {variant_for("camp", cid, [("A", 0.0), ("B", 1.0)]) for cid in ids[:500]} == {"B"}
    assert {variant_for("camp", cid, [("A", 1.0), ("B", 0.0)]) for cid in ids[:500]} == {"A"}


@pytest.mark.parametrize(
    ("variants", "message"),
    [([], "at least one variant"), ([("A", -1.0), ("B", 2.0)], "negative"), ([("A", 0.0)], "more than zero")],
)
def test_bad_weights_get_one_clear_sentence(variants: list[tuple[str, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        variant_for("camp", "x", variants)


def test_assign_in_one_call_is_holdout_and_variant_of_the_spec_formula() -> None:
    """The planner's one-call form hashes the same keys as `in_holdout` and `variant_for`."""
    variants = [("A", 0.5), ("B", 0.4), ("C", 0.1)]
    for share in (0.0, 0.1, 0.645):
        assigner = Assigner("worked-1", share, variants)
        for i in range(300):
            cid = f"h{i:05d}"
            held, variant = assigner.assign(cid)
            assert held == (unit_hash(f"worked-1:{cid}") < share) == in_holdout("worked-1", cid, share)
            assert variant == variant_for("worked-1", cid, variants)
    assert Assigner("worked-1", 0.645).assign("h00002") == (True, None)  # no A/B: no variant
