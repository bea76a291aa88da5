"""Accounts tests: a real SMTP server receives the mail the server sends."""

import pytest
from smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def anclora_overrides(smtp):
    return {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_use_tls": False}
