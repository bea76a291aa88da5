"""The least an HTTP image converter can do, as the floor for bench/convert.py's image figures.

    python bench/_floor_server.py PORT

`POST /inline` converts the body to JPEG with Pillow inside the server process and answers with the bytes: the
cost of HTTP alone. `POST /forked` writes the body to a file, forks a child of this process (Pillow already
imported, as in a warm worker) that converts it into another file and exits, and answers with that file: HTTP
plus the one process per conversion that isolation needs. Neither keeps any record, checks anything or charges
anyone; no durable storage, no database, no sandbox limits. `POST /stored` is the floor of an answer that converts
nothing (bench/scheduling.py's cached conversions): it writes the body to a file while hashing it (sha256), records
it as one row in SQLite (WAL, synchronous=NORMAL, as Anclora's default database) and answers with the file's bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sqlite3
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


class Stored(tornado.web.RequestHandler):
    def initialize(self, database: sqlite3.Connection, folder: Path) -> None:
        self.database, self.folder = database, folder

    def post(self) -> None:
        digest = hashlib.sha256(self.request.body).hexdigest()
        path = self.folder / digest
        path.write_bytes(self.request.body)
        with self.database:
            self.database.execute("INSERT INTO files (sha256, size) VALUES (?, ?)", (digest, len(self.request.body)))
        self.write(path.read_bytes())
        path.unlink()


def stored_routes(folder: Path) -> dict:
    database = sqlite3.connect(folder / "floor.db", isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY, sha256 TEXT, size INTEGER)")
    database.isolation_level = ""  # (transactions again: `with database` commits each row)
    return {"database": database, "folder": folder}


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
    stored = Path(tempfile.mkdtemp(prefix="floor-stored-", dir="."))
    app = tornado.web.Application([("/api/health", Health), ("/inline", Inline), ("/forked", Forked),
                                   ("/stored", Stored, stored_routes(stored))])
    app.listen(port, "127.0.0.1", max_body_size=64 * 1024 * 1024)
    await asyncio.Event().wait()


class Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"status": "ok"})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
