"""sha256 of an upload, computed on a thread of its own while the next chunks arrive.

hashlib releases the GIL while it hashes, so with the hash beside it the event loop only receives, parses and
writes (bench/upload.py, docs/benchmarks.md). At most `AHEAD` chunks wait for the thread; past that the writer asks
its caller to wait (Tornado's flow control), so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib

AHEAD = 2  # chunks queued for the hashing thread before the caller must wait
THREAD_FROM = 64 * 1024  # a smaller first chunk is hashed at once: a thread for one small file costs more


class BackgroundHash:
    def __init__(self, start=None) -> None:
        """`start`: a sha256 object to go on from (the bytes before these), else a new one."""
        self._digest = start if start is not None else hashlib.sha256()
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: collections.deque[concurrent.futures.Future] = collections.deque()

    def update(self, chunk: bytes) -> None:
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)  # hashed later: a buffer its owner may reuse is copied now
        if self._thread is None:
            if len(chunk) < THREAD_FROM:
                self._digest.update(chunk)
                return
            self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="anclora-sha256")
        while self._pending and self._pending[0].done():
            self._pending.popleft()
        self._pending.append(self._thread.submit(self._digest.update, chunk))  # one thread: chunks stay in order

    def wait(self) -> asyncio.Future | None:
        """None when more chunks may come now; else a future that is done when the thread has caught up."""
        if len(self._pending) <= AHEAD:
            return None
        return asyncio.ensure_future(self._catch_up(AHEAD))

    async def _catch_up(self, keep: int) -> None:
        while len(self._pending) > keep:
            await asyncio.wrap_future(self._pending[0])
            self._pending.popleft()

    async def hexdigest(self) -> str:
        return (await self.state()).hexdigest()

    async def state(self):
        """The sha256 object once every chunk is in (it can take more bytes later)."""
        await self._catch_up(0)
        self.close()
        return self._digest

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
