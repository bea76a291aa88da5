"""The sha256 of an upload taken beside the event loop: the digest of every byte in order whatever the chunks,
buffers the caller reuses copied at once, a hash carried on from where another stopped, and the caller held back
while batches wait for the thread."""

from __future__ import annotations

import hashlib
import os
import threading

from anclora.storage import hashing
from anclora.storage.hashing import BackgroundHash


async def hashed(chunks: list) -> str:
    background = BackgroundHash()
    for chunk in chunks:
        background.update(chunk)
        waiting = background.wait()
        if waiting is not None:
            await waiting
    return await background.hexdigest()


async def test_the_digest_is_of_every_byte_in_order_whatever_the_chunks():
    data = os.urandom(5 * hashing.BATCH + 12345)
    sizes = [1, hashing.THREAD_FROM - 1, hashing.BATCH + 1, 7, 256 * 1024, hashing.BATCH, 3 * hashing.BATCH]
    chunks, offset = [], 0
    for size in sizes:
        chunks.append(data[offset:offset + size])
        offset += size
    expected = hashlib.sha256(data[:offset]).hexdigest()
    assert await hashed(chunks) == expected
    assert await hashed([memoryview(chunk) for chunk in chunks]) == expected
    assert await hashed([b"tiny", b"", b" file"]) == hashlib.sha256(b"tiny file").hexdigest()
    assert await hashed([]) == hashlib.sha256().hexdigest()


async def test_a_buffer_the_caller_reuses_is_hashed_as_it_was_when_given():
    reused = bytearray(hashing.BATCH // 2)
    background, expected = BackgroundHash(), hashlib.sha256()
    for fill in range(1, 6):
        reused[:] = bytes([fill]) * len(reused)
        background.update(reused)
        expected.update(reused)
    reused[:] = b"\0" * len(reused)
    assert await background.hexdigest() == expected.hexdigest()


async def test_a_hash_carries_on_from_another_ones_state():
    first, second = os.urandom(2 * hashing.BATCH + 1), os.urandom(hashing.BATCH - 1)
    before = BackgroundHash()
    before.update(first)
    after = BackgroundHash(await before.state())
    after.update(second)
    assert await after.hexdigest() == hashlib.sha256(first + second).hexdigest()


async def test_the_caller_waits_while_batches_queue_for_the_thread():
    background = BackgroundHash()
    held = threading.Event()
    background.update(b"x" * hashing.BATCH)  # (the thread starts with the first full batch)
    background._thread.submit(held.wait)  # the thread is busy until `held` is set: nothing more gets hashed
    try:
        for _ in range(hashing.AHEAD + 1):
            background.update(b"y" * hashing.BATCH)
        waiting = background.wait()
        assert waiting is not None and not waiting.done()
    finally:
        held.set()
    await waiting
    assert background.wait() is None
    expected = hashlib.sha256(b"x" * hashing.BATCH + b"y" * (hashing.AHEAD + 1) * hashing.BATCH).hexdigest()
    assert await background.hexdigest() == expected
