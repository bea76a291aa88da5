"""The data worker: reads one tabular format into a Table under caps and writes another (run by plugins/data.py).

Usage: python _data_worker.py SRC DST SOURCE TARGET OPTIONS_JSON
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _data_readers import READERS
from _data_writers import WRITERS

from anclora.engines.worker import Refused, progress, serve


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    try:
        table = READERS[source](src)
    except UnicodeDecodeError:
        raise Refused(f"the {source} data is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise Refused(f"the {source} data is invalid: {error}") from None
    progress(50)
    WRITERS[target](table, dst)


if __name__ == "__main__":
    serve(convert)
