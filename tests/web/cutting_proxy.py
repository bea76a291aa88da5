"""A TCP proxy on a loopback port in front of the server that cuts one connection in the middle of a tus PATCH
body, as a flaky network would, and notes the offset each PATCH started from."""

from __future__ import annotations

import asyncio
import re

PATCH_START = re.compile(rb"PATCH /api/uploads/[^ ]+ HTTP/1\.1\r\n(?:.*?\r\n)*?Upload-Offset: (\d+)\r\n", re.I | re.S)


class CuttingProxy:
    def __init__(self, upstream_port: int, cut_after: int):
        self.upstream_port = upstream_port
        self.cut_after = cut_after  # bytes of a PATCH body forwarded before the cut (once)
        self.cuts = 0
        self.patch_offsets: list[int] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, client_reader, client_writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.create_task(self._pipe(upstream_reader, client_writer))
        try:
            await self._forward_requests(client_reader, upstream_writer, client_writer)
        except (ConnectionError, OSError):
            pass  # the browser went away
        finally:
            for writer in (upstream_writer, client_writer):
                writer.close()
            await asyncio.gather(back, return_exceptions=True)

    async def _forward_requests(self, reader, writer, client_writer) -> None:
        in_patch = None  # bytes forwarded since a PATCH began on this connection
        while chunk := await reader.read(65536):
            started = PATCH_START.search(chunk)
            if started:
                self.patch_offsets.append(int(started[1]))
                in_patch = 0
            if in_patch is not None:
                in_patch += len(chunk)
                if self.cuts == 0 and in_patch > self.cut_after:
                    self.cuts += 1
                    writer.transport.abort()  # both sides see the connection drop mid-body
                    client_writer.transport.abort()
                    return
            writer.write(chunk)
            await writer.drain()

    @staticmethod
    async def _pipe(reader, writer) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
