"""Prices in credits: the converter's cost, once more for every started size step of the input."""

from __future__ import annotations

SIZE_STEP = 25 * 1024 * 1024


def price(converter_cost: int, input_size: int) -> int:
    cost = max(0, int(converter_cost or 0))
    return cost * (1 + max(0, input_size - 1) // SIZE_STEP) if input_size else cost
