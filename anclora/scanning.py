"""Malware scanning of uploads by clamd (ClamAV's daemon) over its socket, and what a scan means for the upload:
clean, infected (422), too large for clamd (413), or clamd unreachable (503, or let through with `clamd_fail_open`)."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from typing import TYPE_CHECKING, AsyncIterator

from .errors import ConfigError, Infected, PayloadTooLarge, ServiceUnavailable

if TYPE_CHECKING:
    from .config import Settings
    from .context import AppContext

log = logging.getLogger("anclora.scanning")

CHUNK = 256 * 1024  # bytes per INSTREAM chunk: storage's own read size, far below any StreamMaxLength
_END = struct.pack(">I", 0)
MAX_REPLY = 4096  # clamd's answers are one short line
_SIZE_LIMIT = "INSTREAM size limit exceeded"
# clamd's own verdict on a file beyond its MaxFileSize/MaxScanSize (with `AlertExceedsMax yes`): not malware,
# and not scanned either
_LIMIT_HEURISTIC = "Heuristics.Limits.Exceeded"


class ScannerUnavailable(ServiceUnavailable):
    code = "scanner_unavailable"
    message = "The malware scanner is unavailable; the upload was not stored. Try again later."


class TooLargeToScan(PayloadTooLarge):
    code = "too_large_to_scan"
    message = "The file is larger than the malware scanner accepts; it was not stored."


class ClamdError(Exception):
    """clamd could not be reached, did not answer in time, or answered with an error."""


class Clamd:
    """A client of clamd's socket: one connection per command, every step bounded by `timeout` seconds."""

    def __init__(self, *, socket_path: str = "", host: str = "", port: int = 3310, timeout: float = 120.0):
        self.socket_path, self.host, self.port, self.timeout = socket_path, host, port, timeout

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Clamd | None":
        """The scanner the settings name, or None when scanning is off; both a socket and a host is an error."""
        if settings.clamd_socket and settings.clamd_host:
            raise ConfigError("set clamd_socket or clamd_host, not both")
        if not (settings.clamd_socket or settings.clamd_host):
            return None
        return cls(socket_path=settings.clamd_socket, host=settings.clamd_host, port=settings.clamd_port,
                   timeout=settings.clamd_timeout)

    @property
    def address(self) -> str:
        return self.socket_path or f"{self.host}:{self.port}"

    async def version(self) -> str:
        """clamd's `VERSION` answer: `ClamAV <engine>/<database version>/<database date>`."""
        with await self._connect() as connection:
            await self._send(connection, b"zVERSION\0")
            return await self._reply(connection)

    async def health(self) -> dict:
        """What the health report shows of clamd when it answers (it raises when clamd does not)."""
        return {"backend": "clamd", "version": await self.version()}

    async def scan(self, chunks: AsyncIterator[bytes]) -> str | None:
        """Stream the bytes to `INSTREAM`; the signature found, or None when clean. TooLargeToScan past clamd's
        StreamMaxLength (or its scan limits); ClamdError when clamd fails."""
        try:
            with await self._connect() as connection:
                await self._send(connection, b"zINSTREAM\0")
                try:
                    async for chunk in chunks:
                        await self._send(connection, struct.pack(">I", len(chunk)))
                        await self._send(connection, chunk)
                    await self._send(connection, _END)
                except ClamdError as error:
                    if not isinstance(error.__cause__, ConnectionError):
                        raise
                    # clamd hangs up mid-stream past StreamMaxLength, and its reply says so
                return _verdict(await self._reply(connection))
        finally:
            if (close := getattr(chunks, "aclose", None)) is not None:
                await close()

    # A plain non-blocking socket rather than asyncio's streams: when clamd hangs up mid-stream, a stream
    # transport's failed write closes the socket before the reply waiting in it has been read.
    async def _connect(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        try:
            if self.socket_path:
                targets = [(socket.AF_UNIX, self.socket_path)]
            else:
                found = await asyncio.wait_for(
                    loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM), self.timeout)
                targets = [(family, address) for family, _, _, _, address in found]
            for number, (family, address) in enumerate(targets, 1):
                connection = socket.socket(family, socket.SOCK_STREAM)
                connection.setblocking(False)
                try:
                    await asyncio.wait_for(loop.sock_connect(connection, address), self.timeout)
                    return connection
                except OSError:
                    connection.close()
                    if number == len(targets):
                        raise
        except OSError as error:
            raise ClamdError(f"cannot connect to clamd at {self.address}: {_reason(error)}") from error
        raise ClamdError(f"cannot connect to clamd at {self.address}: no address")

    async def _send(self, connection: socket.socket, data: bytes) -> None:
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(connection, data), self.timeout)
        except OSError as error:
            raise ClamdError(f"clamd at {self.address} stopped reading: {_reason(error)}") from error

    async def _reply(self, connection: socket.socket) -> str:
        """One reply (each command gets one, ended by a NUL byte)."""
        loop, reply = asyncio.get_running_loop(), b""
        try:
            while not reply.endswith(b"\0"):
                piece = await asyncio.wait_for(loop.sock_recv(connection, MAX_REPLY), self.timeout)
                if not piece or len(reply) + len(piece) > MAX_REPLY:
                    raise ClamdError(f"clamd at {self.address} did not answer: the connection closed")
                reply += piece
        except OSError as error:
            raise ClamdError(f"clamd at {self.address} did not answer: {_reason(error)}") from error
        return reply[:-1].decode("utf-8", "replace").strip()


def _reason(error: OSError) -> str:
    return "timed out" if isinstance(error, TimeoutError) else str(error) or type(error).__name__


def _verdict(reply: str) -> str | None:
    """`stream: OK` → None; `stream: <signature> FOUND` → the signature; a size refusal or an error raises."""
    if reply.startswith(_SIZE_LIMIT):
        raise TooLargeToScan(details={"reason": "StreamMaxLength"})
    body = reply.removeprefix("stream: ")
    if body == "OK":
        return None
    if body.endswith(" FOUND"):
        signature = body.removesuffix(" FOUND")
        if signature.startswith(_LIMIT_HEURISTIC):
            raise TooLargeToScan(details={"reason": signature.removeprefix(_LIMIT_HEURISTIC + ".")})
        return signature
    raise ClamdError(f"clamd answered {reply[:200]!r}")


async def scan_upload(ctx: "AppContext", key: str, size: int) -> None:
    """Scan the stored object `key` (an upload about to become a file) through storage. Returns when it is clean,
    scanning is off or the file is empty; raises Infected, TooLargeToScan or ScannerUnavailable. With
    `clamd_fail_open` an unreachable clamd lets the upload through, with a warning in the log."""
    scanner = ctx.scanner
    if scanner is None or size == 0:
        return
    started = time.monotonic()
    try:
        signature = await scanner.scan(ctx.storage.read(key, chunk_size=CHUNK))
    except TooLargeToScan:
        _count(ctx, "too_large", started)
        log.warning("upload %s (%d bytes) refused: larger than clamd scans; raise clamd's StreamMaxLength (and "
                    "MaxFileSize, MaxScanSize) to the upload limit", key, size)
        raise
    except ClamdError as error:
        if ctx.settings.clamd_fail_open:
            _count(ctx, "unscanned", started)
            log.warning("upload %s (%d bytes) stored UNSCANNED (clamd_fail_open): %s", key, size, error)
            return
        _count(ctx, "unavailable", started)
        log.error("upload %s refused, malware scanner unavailable: %s", key, error)
        raise ScannerUnavailable(headers={"Retry-After": "30"}) from None
    if signature is not None:
        _count(ctx, "infected", started)
        log.warning("upload %s (%d bytes) refused: clamd found %s", key, size, signature)
        raise Infected(f"The file contains malware ({signature}); it was not stored.",
                       details={"signature": signature})
    _count(ctx, "clean", started)


def _count(ctx: "AppContext", outcome: str, started: float) -> None:
    ctx.metrics.scans.labels(outcome).inc()
    ctx.metrics.scan_seconds.observe(time.monotonic() - started)
