"""sha256 of an upload, computed on a thread of its own while the next chunks arrive.

hashlib releases the GIL while it hashes, so with the hash beside it the event loop only receives, parses and
writes (bench/upload.py, docs/benchmarks.md). Chunks go to the thread in batches of `BATCH` bytes: a hand-off is
a future, a queue and a wake-up (in a 500 MiB upload to S3, py-spy found the event loop in `submit` for a quarter
of its samples with one per 256 KiB chunk; hashing 500 MiB of such chunks took 0.62 s of CPU, 0.55 s in 1 MiB
batches). At most `AHEAD` batches wait for the thread; past that the writer asks its caller to wait (Tornado's
flow control), so memory stays bounded: what is being hashed, what waits, and what is being gathered.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib

BATCH = 1024 * 1024  # bytes gathered before they go to the thread together
AHEAD = 1  # batches queued for the hashing thread, beside the one it hashes, before the caller must wait
THREAD_FROM = 64 * 1024  # fewer bytes left at the end are hashed at once: a thread for one small file costs more


class BackgroundHash:
    def __init__(self, start=None) -> None:
        """`start`: a sha256 object to go on from (the bytes before these), else a new one."""
        self._digest = start if start is not None else hashlib.sha256()
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: collections.deque[concurrent.futures.Future] = collections.deque()
        self._batch: list[bytes] = []
        self._batched = 0

    def update(self, chunk: bytes) -> None:
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)  # hashed later: a buffer its owner may reuse is copied now
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= BATCH:
            self._hand_off()

    def _hand_off(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        if self._thread is None:
            self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="anclora-sha256")
        while self._pending and self._pending[0].done():
            self._pending.popleft()
        self._pending.append(self._thread.submit(self._hash, batch))  # one thread: batches stay in order

    def _hash(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._digest.update(chunk)

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
        if self._thread is None and self._batched < THREAD_FROM:
            self._hash(self._batch)
            self._batch, self._batched = [], 0
        elif self._batch:
            self._hand_off()
        await self._catch_up(0)
        self.close()
        return self._digest

    def close(self) -> None:
        self._batch, self._batched = [], 0
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None
