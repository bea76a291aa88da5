"""The least an HTTP image converter can do, as the floor for bench/convert.py's image figures.

    python bench/_floor_server.py PORT

`POST /inline` converts the body to JPEG with Pillow inside the server process and answers with the bytes: the
cost of HTTP alone. `POST /forked` writes the body to a file, forks a child of this process (Pillow already
imported, as in a warm worker) that converts it into another file and exits, and answers with that file: HTTP
plus the one process per conversion that isolation needs. Neither keeps any record, checks anything or charges
anyone; no durable storage, no database, no sandbox limits.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path

import tornado.ioloop
import tornado.web
from PIL import Image


def to_jpeg(source, target) -> None:
    with Image.open(source) as image:
        image.convert("RGB").save(target, "JPEG", quality=85)


class Inline(tornado.web.RequestHandler):
    def post(self) -> None:
        output = io.BytesIO()
        to_jpeg(io.BytesIO(self.request.body), output)
        self.write(output.getvalue())


class Forked(tornado.web.RequestHandler):
    async def post(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            source, target = Path(folder) / "input", Path(folder) / "output.jpg"
            source.write_bytes(self.request.body)
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    to_jpeg(source, target)
                    status = 0
                finally:
                    os._exit(status)
            await exited(pid)
            self.write(target.read_bytes())


async def exited(pid: int) -> None:
    loop = asyncio.get_running_loop()
    fd = os.pidfd_open(pid)
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)
        os.waitpid(pid, 0)


async def main(port: int) -> None:
    app = tornado.web.Application([("/api/health", Health), ("/inline", Inline), ("/forked", Forked)])
    app.listen(port, "127.0.0.1", max_body_size=64 * 1024 * 1024)
    await asyncio.Event().wait()


class Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"status": "ok"})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
