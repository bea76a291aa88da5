"""Waiting on a condition a test cannot be told about (a process's log, a file, another server's state)."""

from __future__ import annotations

import time


def eventually(condition, timeout: float = 30.0, what: str = "the condition"):
    """Poll `condition` until it returns something true (and return that), for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result
