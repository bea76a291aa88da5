"""Prices in credits: the converter's cost, once more for every started size step of the input; a share of it for
a conversion the result cache answers."""

from __future__ import annotations

import math

SIZE_STEP = 25 * 1024 * 1024


def price(converter_cost: int, input_size: int) -> int:
    cost = max(0, int(converter_cost or 0))
    return cost * (1 + max(0, input_size - 1) // SIZE_STEP) if input_size else cost


def cached_price(full: int, fraction: float) -> int:
    """What a conversion answered from the result cache costs: `fraction` of the full price, rounded up (any
    charge at all is at least one credit)."""
    return math.ceil(round(full * fraction, 6))  # (5 * 0.2 is 1.0000000000000002 in floating point)
