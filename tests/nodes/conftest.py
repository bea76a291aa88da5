"""The multi-node cluster the tests in this folder share: its database, its Redis and its storage are chosen here,
each by one fixture. They bring their own PostgreSQL database and redis-server, so they run the same in either pass
of scripts/test.sh (and only in one: they are backend_independent)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
from backing_services import SHARED_POSTGRES, PrivateRedis
from cluster import PLAN_LIMITS, Cluster
from plugin_folders import FAULTS, NODES, bundled_plugin_names
from sqlalchemy.engine import make_url

from anclora.testing import TEST_JWT_SECRET



@pytest.fixture(scope="module", params=["local", "s3"])
def shared_storage(request, tmp_path_factory) -> dict[str, str]:
    """The storage settings every process of the cluster gets: one local folder they all share, as an NFS mount
    would be, or one bucket of moto's S3 server (each process then keeps its scratch space in its own folder)."""
    if request.param == "local":
        yield {"UPLOAD_FOLDER": str(tmp_path_factory.mktemp("shared") / "uploads")}
        return
    from anclora.storage.s3client import make_client

    endpoint = request.getfixturevalue("anclora_s3_server")
    bucket = f"anclora-nodes-{uuid.uuid4().hex[:12]}"
    client = make_client(endpoint, "us-east-1", "testing", "testing")
    client.create_bucket(Bucket=bucket)
    yield {"ANCLORA_STORAGE_URL": f"s3://{bucket}/files", "ANCLORA_S3_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    client.close()


@pytest.fixture(scope="module")
def cluster_database() -> str:
    """A database of the cluster's own on the test PostgreSQL server (the machine's in the SQLite pass), dropped
    afterwards; the first node migrates it."""
    server = make_url(os.environ.get("ANCLORA_TEST_DATABASE_URL") or SHARED_POSTGRES)
    name = f"anclora_nodes_{uuid.uuid4().hex[:12]}"
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host or "127.0.0.1",
            "-p", str(server.port or 5432), "-U", server.username or "postgres", "-d", server.database or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": server.password} if server.password else {})}
    subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'], check=True, env=env, capture_output=True)
    yield server.set(database=name).render_as_string(hide_password=False)
    subprocess.run([*psql, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True, env=env,
                   capture_output=True)


@pytest.fixture(scope="module")
def cluster_redis(tmp_path_factory) -> str:
    redis = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield redis.url
    redis.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, shared_storage, cluster_database, cluster_redis):
    folder = tmp_path_factory.mktemp("cluster")
    gates = folder / "gates"
    gates.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": cluster_database,
           "REDIS_URL": cluster_redis, "JWT_SECRET_KEY": TEST_JWT_SECRET, "ANCLORA_PLUGINS_ENTRYPOINTS": "false",
           "ANCLORA_PLUGINS_DIRS": f"{FAULTS},{NODES}", "ANCLORA_PLUGINS_BLOCK": ",".join(bundled_plugin_names()),
           "ANCLORA_WARM_WORKERS": "false", "ANCLORA_PLAN_LIMITS": json.dumps(PLAN_LIMITS),
           "ANCLORA_TRUSTED_PROXIES": "127.0.0.1", "FAULT_MARKER": str(folder / "slow-once-started"),
           "NODES_GATES": str(gates)}
    nodes = Cluster(folder, env, shared_storage)
    nodes.gates, nodes.fault_marker = gates, folder / "slow-once-started"
    yield nodes
    nodes.stop()
