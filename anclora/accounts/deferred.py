"""`deferred(fn, ...)`: an awaitable that starts `fn` only when awaited.

Hook results are awaited one after another and the first raise stops the rest. A plain coroutine left
un-awaited that way warns ("never awaited"); a deferred call simply never runs.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable


class deferred:
    def __init__(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __await__(self):
        return self.fn(*self.args, **self.kwargs).__await__()
