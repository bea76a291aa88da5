"""Outgoing mail over SMTP (aiosmtplib): verification links, password resets and receipts.

Messages are sent in the background so a request answers in the same time whether or not a mail goes out
(which would otherwise tell a caller whether an address has an account).
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from .context import AppContext

log = logging.getLogger("anclora.mail")
SEND_TIMEOUT = 30


def build(ctx: "AppContext", to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = ctx.settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


async def send(ctx: "AppContext", message: EmailMessage) -> None:
    settings = ctx.settings
    if not settings.mail_server:
        log.info("mail %r to %s not sent: MAIL_SERVER is not set", message["Subject"], message["To"])
        return
    try:
        await aiosmtplib.send(
            message, hostname=settings.mail_server, port=settings.mail_port,
            username=settings.mail_username or None, password=settings.mail_password or None,
            start_tls=settings.mail_use_tls, timeout=SEND_TIMEOUT)
    except (aiosmtplib.SMTPException, OSError) as error:
        log.error("mail %r to %s failed: %s", message["Subject"], message["To"], error)


def send_later(ctx: "AppContext", to: str, subject: str, body: str) -> None:
    """Queue a mail without waiting for it; `drain` waits for the ones still going at shutdown."""
    pending: set = ctx.state("mail").setdefault("mail_pending", set())
    task = asyncio.get_running_loop().create_task(send(ctx, build(ctx, to, subject, body)))
    pending.add(task)
    task.add_done_callback(pending.discard)


async def drain(ctx: "AppContext") -> None:
    pending = list(ctx.state("mail").get("mail_pending", ()))
    if pending:
        await asyncio.wait(pending, timeout=SEND_TIMEOUT)


def link(ctx: "AppContext", page: str, token: str) -> str:
    """A link for the web client; the token rides in the fragment, which browsers never send to servers."""
    base = ctx.settings.public_url.rstrip("/") or f"http://{ctx.settings.host}:{ctx.settings.port}"
    return f"{base}/{page}#token={token}"
