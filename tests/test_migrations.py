"""The migrations and the models describe the same schema, and the server refuses a stale one."""

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from anclora.db import create_engine, migrate
from anclora.db.base import Base


async def test_models_and_migrations_agree(anclora_database_url):
    engine = create_engine(anclora_database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


async def test_downgrade_to_nothing_and_back(anclora_database_url):
    engine = create_engine(anclora_database_url)
    try:
        await migrate.run(engine, "downgrade", "base")
        assert await migrate.current(engine) is None
        await migrate.run(engine, "upgrade", "head")
        assert await migrate.is_current(engine)
    finally:
        await engine.dispose()


def test_server_refuses_a_stale_schema_and_migrate_flag_fixes_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/stale.db",
           "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    refused = subprocess.run([sys.executable, "-m", "anclora", "verify"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=60)
    assert refused.returncode == 3
    assert "anclora db upgrade" in refused.stderr
    upgraded = subprocess.run([sys.executable, "-m", "anclora", "db", "upgrade"], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    current = subprocess.run([sys.executable, "-m", "anclora", "db", "current"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60)
    assert f"{migrate.head()} (head)" in current.stdout
    verified = subprocess.run([sys.executable, "-m", "anclora", "verify"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=60)
    assert verified.returncode == 0, verified.stderr
