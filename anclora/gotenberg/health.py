"""Our health report in Gotenberg's shape: `{"status": "up"|"down", "details": {name: {"status", "timestamp"}}}`,
the database, storage and every installed engine as details (an engine that is not installed is left out, as a
Gotenberg image without Chromium leaves Chromium out)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def gotenberg_health(report: dict[str, Any]) -> dict[str, Any]:
    stamp = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    checks = report["checks"]
    details: dict[str, dict[str, Any]] = {}
    for name in ("database", "storage"):
        details[name] = _detail(checks[name], stamp)
    for name, engine in sorted(checks["engines"].items()):
        if engine["status"] == "up":
            details[name] = {"status": "up", "timestamp": stamp}
    status = "down" if any(detail["status"] == "down" for detail in details.values()) else "up"
    return {"status": status, "details": details}


def _detail(check: dict[str, Any], stamp: str) -> dict[str, Any]:
    detail = {"status": "up" if check["status"] == "up" else "down", "timestamp": stamp}
    if "error" in check:
        detail["error"] = check["error"]
    return detail
