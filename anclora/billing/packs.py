"""Credit packs on sale: configured (`credit_packs`) or the built-in ones."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import ValidationFailed

if TYPE_CHECKING:
    from ..context import AppContext


@dataclasses.dataclass(frozen=True)
class Pack:
    id: str
    name: str
    credits: int
    amount_cents: int
    currency: str = "eur"

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_PACKS = (
    Pack("small", "100 credits", 100, 500),
    Pack("medium", "500 credits", 500, 2000),
    Pack("large", "2000 credits", 2000, 6000),
)


def packs(ctx: "AppContext") -> tuple[Pack, ...]:
    configured = ctx.settings.credit_packs
    return tuple(Pack(**item) for item in configured) if configured else DEFAULT_PACKS


def find(ctx: "AppContext", pack_id: Any) -> Pack:
    for pack in packs(ctx):
        if pack.id == pack_id:
            return pack
    raise ValidationFailed("No such credit pack.", details={"packs": [p.id for p in packs(ctx)]})


def smallest_covering(ctx: "AppContext", credits: int) -> Pack:
    """The cheapest pack that pays for `credits` (the largest when none does)."""
    ordered = sorted(packs(ctx), key=lambda pack: pack.credits)
    return next((pack for pack in ordered if pack.credits >= credits), ordered[-1])
