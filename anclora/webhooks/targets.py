"""Which webhook targets may be called: absolute http(s) URLs whose host resolves only to public addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from ..errors import AncloraError

MAX_URL_LENGTH = 2000
# Cloud instance metadata services (AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba, Azure's wire server):
# named on their own so that a refusal says what was at stake.
METADATA = {ipaddress.ip_address(address) for address in
            ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")}


class TargetRefused(AncloraError):
    status, code, message = 422, "webhook_target_refused", "This webhook URL may not be called."


def parse(url) -> tuple[str, int]:
    """(host, port) of an absolute http(s) URL; TargetRefused for anything else."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"A webhook URL must be an http(s) URL of at most {MAX_URL_LENGTH} characters.")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise TargetRefused("A webhook URL must be an absolute http(s) URL.", details={"url": url[:200]})
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def refusal(address: str) -> str | None:
    """Why this address may not be called, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):  # (narrow first)
        if getattr(ip, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return None if ip.is_global else "a non-public address"


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an IP literal is its own, without a trip to the resolver's thread)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The webhook host {host!r} could not be resolved.") from None
    return sorted({info[4][0] for info in infos})


async def check_target(ctx, url: str) -> None:
    """Refuse (422 `webhook_target_refused`) a URL that is not absolute http(s), or whose host resolves to a
    loopback, private, link-local, metadata or other non-public address, unless `webhook_private_targets` is on.
    Called when a webhook is requested and again before each attempt (DNS may have changed)."""
    host, port = parse(url)
    if ctx.settings.webhook_private_targets:
        return
    for address in await resolve(host, port):
        reason = refusal(address)
        if reason is not None:
            raise TargetRefused(f"The webhook host {host!r} resolves to {address}, {reason}; webhooks go to "
                                "public addresses only.", details={"url": url[:200], "address": address})
