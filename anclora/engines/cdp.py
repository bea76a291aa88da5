"""A minimal Chrome DevTools Protocol client over Chromium's `--remote-debugging-pipe` (fd 3 in, fd 4 out).

Messages are JSON objects separated by a NUL byte. Commands get an `id` and their reply carries it back; events
carry a `method` and, for a page attached with `flatten`, the `sessionId` of that page. No socket is opened: the
browser is reachable only by the process that started it.

    connection = PipeConnection(reader, writer)
    connection.start()
    await connection.send("Target.createTarget", {"url": "about:blank"})
    connection.on("Fetch.requestPaused", handler, session_id)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, Callable

log = logging.getLogger("anclora.chromium")

MAX_MESSAGE = 256 * 2**20  # a screenshot or a PDF answered inline; printing streams through IO.read instead


class ProtocolError(Exception):
    """The browser answered a command with an error."""


class ConnectionLost(Exception):
    """The pipe closed: the browser exited or was killed."""


Handler = Callable[[dict[str, Any]], None]


class PipeConnection:
    """Commands and events over the two pipe ends of one browser process."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._handlers: dict[tuple[str | None, str], Handler] = {}
        self._task: asyncio.Task | None = None
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    def on(self, method: str, handler: Handler, session_id: str | None = None) -> None:
        """Call `handler(params)` for every `method` event of `session_id` (None: the browser's own)."""
        self._handlers[(session_id, method)] = handler

    def forget(self, session_id: str) -> None:
        for key in [key for key in self._handlers if key[0] == session_id]:
            del self._handlers[key]

    async def send(self, method: str, params: dict[str, Any] | None = None,
                   session_id: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its result; ProtocolError when the browser refuses it."""
        if self.closed:
            raise ConnectionLost("the browser is gone")
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        try:
            self._writer.write(json.dumps(message).encode() + b"\0")
            await self._writer.drain()
            return await future
        except (BrokenPipeError, ConnectionResetError):
            raise ConnectionLost("the browser is gone") from None
        finally:
            self._pending.pop(message["id"], None)

    def post(self, method: str, params: dict[str, Any], session_id: str | None = None) -> None:
        """Send a command whose answer nobody waits for (answering a paused request from an event handler)."""
        task = asyncio.get_running_loop().create_task(self.send(method, params, session_id))
        task.add_done_callback(_log_failure)

    async def _read_loop(self) -> None:
        try:
            while True:
                raw = await self._reader.readuntil(b"\0")
                self._dispatch(json.loads(raw[:-1]))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as error:
            log.debug("DevTools pipe closed: %s", error)
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost("the browser is gone"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            future = self._pending.get(message["id"])
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(ProtocolError(message["error"].get("message", "error")))
            else:
                future.set_result(message.get("result", {}))
            return
        handler = self._handlers.get((message.get("sessionId"), message.get("method")))
        if handler is not None:
            try:
                handler(message.get("params", {}))
            except Exception:
                log.exception("DevTools event handler for %s failed", message.get("method"))

    async def close(self) -> None:
        self.closed = True
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("DevTools command failed: %s", task.exception())
