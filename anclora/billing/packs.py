"""Credit packs on sale: configured (`credit_packs`) or the built-in ones (declared in `anclora.policy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ValidationFailed
from ..policy import CreditPack

if TYPE_CHECKING:
    from ..context import AppContext


def packs(ctx: "AppContext") -> tuple[CreditPack, ...]:
    """The packs on sale (the `credit_packs` setting, checked at startup by `anclora.policy`)."""
    return ctx.settings.credit_packs


def find(ctx: "AppContext", pack_id: Any) -> CreditPack:
    for pack in packs(ctx):
        if pack.id == pack_id:
            return pack
    raise ValidationFailed("No such credit pack.", details={"packs": [p.id for p in packs(ctx)]})


def smallest_covering(ctx: "AppContext", credits: int) -> CreditPack:
    """The cheapest pack that pays for `credits` (the largest when none does)."""
    ordered = sorted(packs(ctx), key=lambda pack: pack.credits)
    return next((pack for pack in ordered if pack.credits >= credits), ordered[-1])
