"""The provisioning playbook makes a streaming replica for real: a second PostgreSQL server on this machine (its
own port and data folder, removed afterwards), copied from the machine's server and following it. The application
then reads its listings there and /api/health reports how far the replica lags. Of the machine's own server, the
test uses a replication role, a slot and a client rule, all removed afterwards."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import tornado.netutil

from anclora.db import create_engine, migrate
from anclora.identity import new_session_token
from anclora.server import build_context, close, make_http_server, start
from ops_site import ANCLORA, Site, cli_env, free_port, make_root, psql
from waiting import eventually

pytestmark = pytest.mark.backend_independent  # a database and a server of its own, in one pass of the suite
INVENTORY = """[database]
localhost

[database_replica]
localhost

[all:vars]
ansible_connection=local
ansible_python_interpreter={{ ansible_playbook_python }}
"""
PG_BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]).parent



class Replica:
    """The site of a replica on this machine and what the test made on the machine's server, removed by
    `cleanup`."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:10]
        self.root = make_root()
        self.port, self.data = free_port(), self.root / "replica"
        self.slot, self.role = f"anclora_test_{suffix}", f"anclora_repl_{suffix}"
        self.site = Site(self.root, anclora_db_replica_host="127.0.0.1", anclora_db_replica_port=self.port,
                         anclora_db_replication_user=self.role, anclora_db_replication_password="pw-" + suffix,
                         postgresql_replica_data_dir=str(self.data), postgresql_replica_slot=self.slot,
                         postgresql_replica_bin_dir=str(PG_BIN))
        self.name, self.password = self.site.name, self.site.vars["anclora_db_password"]
        self.inventory = self.root / "inventory.ini"
        self.inventory.write_text(INVENTORY)

    def provision(self) -> dict:
        env = cli_env(self.site, f"sqlite:///{self.root}/ops-history.db")
        subprocess.run([ANCLORA, "db", "upgrade"], env=env, check=True, capture_output=True)
        done = subprocess.run([ANCLORA, "ops", "run", "provision", "--tags", "replica", "--inventory",
                               str(self.inventory)], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def url(self, port: int) -> str:
        return f"postgresql://{self.name}:{self.password}@127.0.0.1:{port}/{self.name}"

    def on_replica(self, sql: str, database: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-tA", "-h", str(self.data), "-p",
                               str(self.port), "-d", database or self.name, "-c", sql], capture_output=True, text=True)

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], capture_output=True)
        # the slot is dropped once the walsender of the stopped replica has gone
        eventually(lambda: psql(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{self.slot}' "
                                "AND active") == "0", 30, "the slot to be released")
        psql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{self.slot}'",
             f'DROP ROLE IF EXISTS "{self.role}"')
        hba = Path(psql("SHOW hba_file"))
        text = hba.read_text()
        cleaned = re.sub(rf"# BEGIN ANCLORA REPLICATION {self.slot}\n.*?# END ANCLORA REPLICATION {self.slot}\n",
                         "", text, flags=re.S)
        if cleaned != text:
            hba.write_text(cleaned)
            psql("SELECT pg_reload_conf()")
        self.site.cleanup()  # the application's database and role, the staging root with the replica's folder


@pytest.fixture(scope="module")
def replica():
    replica = Replica()
    try:
        # the application's role and database on the primary, as the postgresql role makes them
        psql(f"CREATE ROLE \"{replica.name}\" LOGIN PASSWORD '{replica.password}'",
             f'CREATE DATABASE "{replica.name}" OWNER "{replica.name}"')
        replica.result = replica.provision()
        yield replica
    finally:
        replica.cleanup()


def test_provision_makes_a_streaming_replica_that_follows_the_primary(replica):
    assert replica.result["status"] == "successful", replica.result
    assert replica.on_replica("SELECT pg_is_in_recovery()").stdout.strip() == "t"
    assert psql(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{replica.slot}'") == "t"
    token = uuid.uuid4().hex
    psql("CREATE TABLE IF NOT EXISTS probe (word text)", f"INSERT INTO probe VALUES ('{token}')",
         database=replica.name)
    eventually(lambda: replica.on_replica("SELECT word FROM probe").stdout.strip() == token, 30,
               "the row to reach the replica")
    refused = replica.on_replica("INSERT INTO probe VALUES ('no')")
    assert refused.returncode != 0 and "read-only transaction" in refused.stderr


def test_provision_again_leaves_a_working_replica_alone(replica):
    started = replica.on_replica("SELECT pg_postmaster_start_time()").stdout.strip()
    assert replica.provision()["status"] == "successful"
    assert replica.on_replica("SELECT pg_postmaster_start_time()").stdout.strip() == started


async def serve(settings):
    ctx = build_context(settings)
    await start(ctx)
    server = make_http_server(ctx)
    [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets([sock])
    return ctx, server, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_listings_read_the_replica_and_health_reports_its_lag(replica, anclora_settings):
    engine = create_engine(replica.url(5432))
    await migrate.run(engine, "upgrade", "head")
    await engine.dispose()
    ctx, server, base = await serve(anclora_settings.replace(
        database_url=replica.url(5432), database_replica_url=replica.url(replica.port), database_replica_max_lag=1.0))
    session = {"X-Anclora-Session": new_session_token()}
    try:
        async with httpx.AsyncClient(base_url=base, headers=session, timeout=30) as client:
            async def listed() -> list[str]:
                return [f["filename"] for f in (await client.get("/api/files")).json()["files"]]

            async def replica_check() -> dict:
                return (await client.get("/api/health")).json()["checks"]["replica"]

            async def until(condition, what: str, timeout: float = 30.0):
                deadline = time.monotonic() + timeout
                while not await condition():
                    assert time.monotonic() < deadline, f"timed out waiting for {what}"

            assert (await client.post("/api/files?filename=first.txt", content=b"1")).status_code == 201
            await until(lambda: _async_equal(listed, ["first.txt"]), "the replica to list the first file")
            check = await replica_check()
            assert check["status"] == "up" and 0 <= check["lag_seconds"] <= 1.0

            assert replica.on_replica("SELECT pg_wal_replay_pause()").returncode == 0
            try:
                second = await client.post("/api/files?filename=second.txt", content=b"2")
                assert second.status_code == 201
                assert (await client.get(f"/api/files/{second.json()['id']}")).status_code == 200  # the primary's
                assert await listed() == ["first.txt"]  # the replica's, which has not replayed it yet

                async def lagging() -> bool:
                    check = await replica_check()
                    return check["status"] == "degraded" and check["lag_seconds"] > 1.0
                await until(lagging, "the health check to report the lag")
            finally:
                replica.on_replica("SELECT pg_wal_replay_resume()")
            await until(lambda: _async_equal(listed, ["second.txt", "first.txt"]), "the replica to catch up")
            await until(lambda: _async_equal(lambda: _status(replica_check), "up"), "the lag to clear")
    finally:
        server.stop()
        await server.close_all_connections()
        await close(ctx)


async def _async_equal(read, expected) -> bool:
    return await read() == expected


async def _status(read) -> str:
    return (await read())["status"]
