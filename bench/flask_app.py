"""The deployment guide's original stack, for comparison: a Flask app served by gunicorn's sync workers.

`POST /api/files` takes a raw body (streamed from `request.stream` to a file with sha256) or multipart/form-data
(`request.files['file'].save(...)`, werkzeug's own path: it spools the part to a temporary file first, then copies
it). Neither fsyncs, as the original did not. `GET /api/health` runs `SELECT 1` on SQLite and a disk check.
Settings come from the environment: UPLOAD_FOLDER, DATABASE_PATH, MAX_CONTENT_LENGTH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

from flask import Flask, abort, jsonify, request

STREAM_CHUNK = 1024 * 1024  # measured: cheaper for gunicorn than 64 KiB reads (its socket reads stay 8 KiB)
FORM_SLACK = 1024 * 1024  # multipart boundaries and headers around the file


def create_app() -> Flask:
    app = Flask(__name__)
    folder = Path(os.environ["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    database = os.environ["DATABASE_PATH"]
    app.config["MAX_CONTENT_LENGTH"] = int(os.environ.get("MAX_CONTENT_LENGTH", 524288000)) + FORM_SLACK
    connections: dict[int, sqlite3.Connection] = {}

    def db() -> sqlite3.Connection:
        # One connection per worker process, opened after gunicorn forks it (preload_app imports us first).
        if os.getpid() not in connections:
            connections[os.getpid()] = sqlite3.connect(database)
        return connections[os.getpid()]

    @app.post("/api/files")
    def upload():
        target = folder / uuid.uuid4().hex
        if request.mimetype == "multipart/form-data":
            if "file" not in request.files:
                abort(400)
            request.files["file"].save(target)
            return jsonify(size=target.stat().st_size), 201
        digest, size = hashlib.sha256(), 0
        with open(target, "wb") as out:
            while chunk := request.stream.read(STREAM_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return jsonify(size=size, sha256=digest.hexdigest()), 201

    @app.get("/api/health")
    def health():
        db().execute("SELECT 1").fetchone()
        probe = folder / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        free = shutil.disk_usage(folder).free
        return jsonify(status="up", checks={"database": {"status": "up", "backend": "sqlite"},
                                            "storage": {"status": "up", "free_bytes": free}})

    return app
