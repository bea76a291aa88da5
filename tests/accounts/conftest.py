"""Accounts tests: a real SMTP server receives the mail the server sends."""

import pytest


@pytest.fixture
def anclora_overrides(smtp):
    return {"mail_server": "127.0.0.1", "mail_port": smtp.port, "mail_use_tls": False}
