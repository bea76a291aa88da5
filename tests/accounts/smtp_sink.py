"""A real SMTP server (aiosmtpd) on a free port that keeps what it receives, for tests that read their mail."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
import time

from aiosmtpd.controller import Controller


class SmtpSink:
    def __init__(self):
        self.messages: list = []
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def sent_to(self, address: str) -> list:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, subject_part: str, timeout: float = 10.0):
        """The newest message to `address` whose subject contains `subject_part`, polled until a deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.sent_to(address) if subject_part.lower() in m["Subject"].lower()]
            if found:
                return found[-1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no mail {subject_part!r} to {address} within {timeout}s")


def token_in(message) -> str:
    match = re.search(r"#token=([A-Za-z0-9_-]+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)
