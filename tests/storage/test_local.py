"""The local backend's job-facing operations: a staged input is the engine's own copy (a write to it leaves the
stored bytes whole), an import moves a file in with or without its fsync, and a delete frees the bytes before it
returns."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from anclora.storage.local import LocalStorage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


async def stored(storage: LocalStorage, data: bytes, tmp_path: Path) -> str:
    source = tmp_path / "made"
    source.write_bytes(data)
    key, size, sha256 = await storage.import_file(source)
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    return key


async def test_a_staged_input_written_to_leaves_the_stored_bytes_whole(storage, tmp_path):
    data = os.urandom(300_000)
    key = await stored(storage, data, tmp_path)
    for attempt in range(2):  # the first stage may learn that this filesystem makes no clones; the second knows
        staged = tmp_path / f"input{attempt}.png"
        await storage.stage(key, staged)
        assert staged.read_bytes() == data
        assert os.stat(staged).st_ino != storage.path(key).stat().st_ino  # never a hard link
        with open(staged, "r+b") as engine:  # an engine writing to its input, even in place
            engine.write(b"\0" * 1000)
        assert storage.path(key).read_bytes() == data
        assert await storage.verify(key) == (len(data), hashlib.sha256(data).hexdigest())


async def test_a_stage_of_a_deleted_key_raises_and_makes_no_file(storage, tmp_path):
    key = await stored(storage, b"gone soon", tmp_path)
    await storage.delete(key)
    with pytest.raises(FileNotFoundError):
        await storage.stage(key, tmp_path / "input.txt")
    assert not (tmp_path / "input.txt").exists()


async def test_an_import_is_fsynced_unless_it_need_not_be(storage, tmp_path, fsynced):
    durable, passing = tmp_path / "durable", tmp_path / "passing"
    durable.write_bytes(b"kept for the cache")
    passing.write_bytes(b"sent once, then removed")
    kept, _, _ = await storage.import_file(durable)
    assert len(fsynced) == 1 and fsynced[0].startswith(str(storage.tmp_dir))
    sent, size, sha256 = await storage.import_file(passing, durable=False)
    assert len(fsynced) == 1  # no fsync for this one
    assert not passing.exists() and (size, sha256) == (23, hashlib.sha256(b"sent once, then removed").hexdigest())
    assert b"".join([chunk async for chunk in storage.read(sent)]) == b"sent once, then removed"
    assert sorted(storage.keys()) == sorted([kept, sent]) and not list(storage.tmp_dir.iterdir())


async def test_a_delete_has_removed_the_bytes_when_it_returns(storage, tmp_path):
    key = await stored(storage, b"x" * 100_000, tmp_path)
    other = await storage.link(key)
    await storage.delete(key)
    assert not storage.path(key).exists() and storage.keys() == [other]
    await storage.delete(key)  # a second delete of the same key is no error
    await storage.delete(other)
    assert storage.keys() == []
