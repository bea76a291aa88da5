"""Policy declared once: the plan-limits table and the credit packs, their defaults and their validation.

The settings `plan_limits` and `credit_packs` are parsed here, so a misspelt key, an unknown plan or a value of the
wrong type stops startup with a message naming it. The plan table in docs/accounts.md and the settings' help are
generated from these declarations (a test keeps the docs in step).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

MiB = 1024 * 1024
DAY = 86400


@dataclasses.dataclass(frozen=True)
class PlanKey:
    name: str
    help: str
    unit: str = ""  # "bytes" or "seconds": how the docs table shows the value


PLAN_KEYS = (
    PlanKey("max_upload_bytes", "largest upload (also capped by MAX_CONTENT_LENGTH)", "bytes"),
    PlanKey("conversions_per_day", "conversions started per day (UTC)"),
    PlanKey("free_conversions_per_day", "conversions a day that cost no credits"),
    PlanKey("concurrent_jobs", "conversions queued or running at once"),
    PlanKey("uploads_per_minute", "uploads started per minute"),
    PlanKey("retention_seconds", "how long new files are kept (else the retention settings)", "seconds"),
    PlanKey("queue_weight", "share of the workers when several tenants have conversions queued: 2 gets two turns "
            "for each one of 1 (docs/scheduling.md; 0 counts as 1)"),
)
KEY_NAMES = tuple(key.name for key in PLAN_KEYS)

DEFAULT_PLANS: dict[str, dict[str, int]] = {
    "anonymous": {"max_upload_bytes": 20 * MiB, "conversions_per_day": 10, "free_conversions_per_day": 10,
                  "concurrent_jobs": 1, "uploads_per_minute": 10, "queue_weight": 1},
    "free": {"max_upload_bytes": 100 * MiB, "conversions_per_day": 100, "free_conversions_per_day": 5,
             "concurrent_jobs": 2, "uploads_per_minute": 30, "queue_weight": 1},
    "level_2": {"max_upload_bytes": 200 * MiB, "free_conversions_per_day": 10},
    "level_3": {"free_conversions_per_day": 20, "concurrent_jobs": 3},
    "level_4": {"max_upload_bytes": 300 * MiB, "free_conversions_per_day": 40},
    "level_5": {"free_conversions_per_day": 80, "concurrent_jobs": 4},
    "paid": {"max_upload_bytes": 500 * MiB, "conversions_per_day": 1000, "free_conversions_per_day": 20,
             "concurrent_jobs": 4, "uploads_per_minute": 60, "retention_seconds": 7 * DAY, "queue_weight": 2},
}
PLAN_NAME = re.compile(r"anonymous|free|paid|level_([2-9]|[1-9][0-9])")


def plan_limits(value: Any) -> dict[str, dict[str, int]]:
    """The `plan_limits` setting (a JSON object or a TOML table) checked: known plans, known keys, whole numbers."""
    if not isinstance(value, dict):
        raise ValueError("expected an object of plans, e.g. {\"free\": {\"max_upload_bytes\": 1048576}}")
    checked: dict[str, dict[str, int]] = {}
    for plan, limits in value.items():
        if not isinstance(plan, str) or not PLAN_NAME.fullmatch(plan):
            raise ValueError(f"unknown plan {plan!r} (plans: anonymous, free, level_2 ... level_99, paid)")
        if not isinstance(limits, dict):
            raise ValueError(f"plan {plan!r} must be an object of limits")
        checked[plan] = {key: _limit(plan, key, number) for key, number in limits.items()}
    return checked


def _limit(plan: str, key: Any, number: Any) -> int:
    if key not in KEY_NAMES:
        raise ValueError(f"unknown limit {key!r} in plan {plan!r} (limits: {', '.join(KEY_NAMES)})")
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"limit {key!r} of plan {plan!r} must be a whole number >= 0, not {number!r}")
    return number


def merged_plans(configured: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The built-in table with the configured rows merged over it."""
    return {name: {**DEFAULT_PLANS.get(name, {}), **configured.get(name, {})}
            for name in {*DEFAULT_PLANS, *configured}}


@dataclasses.dataclass(frozen=True)
class CreditPack:
    id: str
    name: str
    credits: int
    amount_cents: int
    currency: str = "eur"

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_PACKS = (
    CreditPack("small", "100 credits", 100, 500),
    CreditPack("medium", "500 credits", 500, 2000),
    CreditPack("large", "2000 credits", 2000, 6000),
)
_PACK_FIELDS = {"id": str, "name": str, "credits": int, "amount_cents": int, "currency": str}
_CURRENCY = re.compile(r"[a-z]{3}")


def credit_packs(value: Any) -> tuple[CreditPack, ...]:
    """The `credit_packs` setting checked: a list of packs with every field of the right type, unique ids, positive
    amounts, ISO currency codes. Empty: the built-in packs."""
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of packs, e.g. [{\"id\": \"small\", \"name\": \"100 credits\", "
                         "\"credits\": 100, \"amount_cents\": 500}]")
    packs = tuple(_pack(index, item) for index, item in enumerate(value))
    ids = [pack.id for pack in packs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pack ids must be unique: {ids}")
    return packs or DEFAULT_PACKS


def _pack(index: int, item: Any) -> CreditPack:
    if isinstance(item, CreditPack):
        return item
    if not isinstance(item, dict):
        raise ValueError(f"pack #{index + 1} must be an object")
    label = f"pack {item.get('id', f'#{index + 1}')!r}"
    unknown = sorted(set(item) - set(_PACK_FIELDS))
    if unknown:
        raise ValueError(f"{label}: unknown field(s) {', '.join(map(repr, unknown))} "
                         f"(fields: {', '.join(_PACK_FIELDS)})")
    for field, kind in _PACK_FIELDS.items():
        if field not in item and field != "currency":
            raise ValueError(f"{label}: {field!r} is missing")
        if field in item and (isinstance(item[field], bool) or not isinstance(item[field], kind)):
            raise ValueError(f"{label}: {field!r} must be {'a whole number' if kind is int else 'text'}")
    if item["credits"] <= 0 or item["amount_cents"] <= 0:
        raise ValueError(f"{label}: 'credits' and 'amount_cents' must be greater than zero")
    if "currency" in item and not _CURRENCY.fullmatch(item["currency"]):
        raise ValueError(f"{label}: 'currency' must be a lower-case ISO 4217 code such as 'eur'")
    return CreditPack(**item)


def plans_help() -> str:
    return ("Limits per plan and level as a JSON object (or TOML table) merged over the built-in table "
            "(docs/accounts.md): plans anonymous, free, level_2.., paid; limits " + ", ".join(KEY_NAMES) + ".")


def plans_table() -> str:
    """The built-in plan table as Markdown, for docs/accounts.md."""
    def shown(key: PlanKey, value: int | None) -> str:
        if value is None:
            return "—"
        if key.unit == "bytes" and value % MiB == 0:
            return f"{value // MiB} MiB"
        if key.unit == "seconds" and value % DAY == 0:
            return f"{value // DAY} days"
        return str(value)
    lines = ["| plan | " + " | ".join(KEY_NAMES) + " |", "| --- |" + " --- |" * len(KEY_NAMES)]
    for plan, limits in DEFAULT_PLANS.items():
        lines.append(f"| {plan} | " + " | ".join(shown(key, limits.get(key.name)) for key in PLAN_KEYS) + " |")
    return "\n".join(lines)


def packs_table() -> str:
    """The built-in credit packs as Markdown, for docs/accounts.md."""
    lines = ["| id | name | credits | price |", "| --- | --- | --- | --- |"]
    for pack in DEFAULT_PACKS:
        lines.append(f"| {pack.id} | {pack.name} | {pack.credits} | "
                     f"{pack.amount_cents / 100:.2f} {pack.currency.upper()} |")
    return "\n".join(lines)
