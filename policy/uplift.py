"""Uplift of a campaign over its holdout: difference of conversion rates with a 95 % interval.

Pure arithmetic (normal approximation to the difference of two proportions, unpooled standard error);
"significant" means the interval leaves out 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the two-sided 95 % quantile of the standard normal


@dataclass(frozen=True)
class Uplift:
    treated_rate: float
    holdout_rate: float
    difference: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not (self.low <= 0.0 <= self.high)


def uplift(treated_n: int, treated_converted: int, holdout_n: int, holdout_converted: int) -> Uplift | None:
    """None when either arm is empty (there is nothing to compare)."""
    if treated_n <= 0 or holdout_n <= 0:
        return None
    if not (0 <= treated_converted <= treated_n and 0 <= holdout_converted <= holdout_n):
        raise ValueError("converted contacts must be between 0 and the arm's size")
    p_t = treated_converted / treated_n
    p_h = holdout_converted / holdout_n
    diff = p_t - p_h
    se = math.sqrt(p_t * (1 - p_t) / treated_n + p_h * (1 - p_h) / holdout_n)
    return Uplift(p_t, p_h, diff, diff - Z_95 * se, diff + Z_95 * se)
