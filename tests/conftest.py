"""Shared fixtures: the server fixtures plugin authors get from anclora.testing, plus a few of our own."""

import os

import pytest
from accounts.smtp_sink import SmtpSink

pytest_plugins = ["anclora.testing"]


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server (aiosmtpd) that keeps what it receives, for tests of the mail the server sends."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """The path of every file this process fsyncs from now on (os.fsync still runs)."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    return seen
