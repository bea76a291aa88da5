"""The data worker's model: a table of records (column name → JSON value) that refuses to grow past its caps.

Formats without nesting (csv, tsv, xlsx, ods, xml) carry nested values as JSON text (`as_text`).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import Any

from anclora.engines.worker import Refused

MAX_ROWS = 200_000
MAX_COLUMNS = 1_000
MAX_CELL_CHARS = 1_000_000
MAX_DEPTH = 32
MAX_CELLS = 10_000_000


class Table:
    """Records and their columns, refusing what is too many, too wide, too big or too deep as it grows."""

    def __init__(self) -> None:
        self.columns: dict[str, None] = {}
        self.rows: list[dict[str, Any]] = []
        self.cells = 0

    def add(self, record: dict[str, Any]) -> None:
        if len(self.rows) >= MAX_ROWS:
            raise Refused(f"the data has more than {MAX_ROWS} rows")
        self.cells += len(record)
        if self.cells > MAX_CELLS:
            raise Refused(f"the data has more than {MAX_CELLS} cells")
        for key in record:
            if key not in self.columns:
                if len(self.columns) >= MAX_COLUMNS:
                    raise Refused(f"the data has more than {MAX_COLUMNS} columns")
                self.columns[key] = None
        self.rows.append({str(key): plain(value) for key, value in record.items()})


def plain(value: Any, depth: int = 0) -> Any:
    """`value` as JSON types only, checking cell size and nesting depth on the way."""
    if depth > MAX_DEPTH:
        raise Refused(f"the data is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise Refused(f"a value is longer than {MAX_CELL_CHARS} characters")
        return value
    if isinstance(value, dict):
        return {str(key): plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, depth + 1) for item in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return plain(base64.b64encode(value).decode("ascii"), depth)
    return plain(str(value), depth)


def as_text(value: Any) -> str:
    """A cell as text for flat formats: strings as they are, other values as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
