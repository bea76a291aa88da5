"""Shared fixtures: the server fixtures plugin authors get from anclora.testing, plus a few of our own."""

import pytest
from accounts.smtp_sink import SmtpSink

pytest_plugins = ["anclora.testing"]


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server (aiosmtpd) that keeps what it receives, for tests of the mail the server sends."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()
