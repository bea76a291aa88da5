"""Backups restore (a drill into scratch databases and folders), corrupt backups are refused before anything is
touched, admin text is never templated, and maintenance runs the server's own checks."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from ops_data import checksums, populate, row_counts
from ops_project import run_playbook
from ops_site import ANCLORA, psql

def pg_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def databases(*names: str) -> set[str]:
    listed = psql("SELECT datname FROM pg_database").splitlines()
    return {name for name in names if name in listed}


@pytest.fixture
def anclora_overrides(anclora_overrides, site):
    return {**anclora_overrides, "ops_vars_files": [str(site.vars_file)]}


def use_backup_site(site, **overrides) -> None:
    site.vars.update({"anclora_user": "root", "anclora_group": "root", "anclora_cli": ANCLORA,
                      "anclora_cli_chdir": str(site.root), "anclora_upload_folder": str(site.root / "uploads"),
                      **overrides})
    site.write()
    site.path("anclora_upload_folder").mkdir(parents=True)


def only_backup(site) -> str:
    [backup] = [path.name for path in site.path("anclora_backup_dir").iterdir()]
    return backup


def corrupt_copy(site, stamp: str, new_stamp: str, *, fix_manifest: bool) -> None:
    """A copy of a backup with its dump cut in half, its manifest left as it was or recomputed to match."""
    backups = site.path("anclora_backup_dir")
    shutil.copytree(backups / stamp, backups / new_stamp)
    dump = backups / new_stamp / "database.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    if fix_manifest:
        import hashlib

        manifest = backups / new_stamp / "SHA256SUMS"
        lines = [f"{hashlib.sha256((backups / new_stamp / name).read_bytes()).hexdigest()}  {name}"
                 for name in ("database.dump", "uploads.tar.gz", "backup.json")]
        manifest.write_text("\n".join(lines) + "\n")


async def test_postgresql_backup_restores_and_corrupt_backups_are_refused(ops, site):
    tag = uuid.uuid4().hex[:8]
    source, target, refused = f"anclora_ops_src_{tag}", f"anclora_ops_dst_{tag}", f"anclora_ops_bad_{tag}"
    use_backup_site(site, anclora_db_name=source, anclora_db_user="postgres", anclora_db_password="")
    psql(f'CREATE DATABASE "{source}"')
    try:
        await populate(pg_url(source), site.path("anclora_upload_folder"))
        backup = await run_playbook(ops, "backup")
        assert backup["status"] == "successful", backup["message"]
        stamp = only_backup(site)

        restored = await run_playbook(ops, "restore", {"date": stamp, "target_database": target,
                                                     "target_upload_folder": str(site.root / "restored")})
        assert restored["status"] == "successful", restored["message"]
        counts = await row_counts(pg_url(source))
        assert counts["files"] == 6 and counts["users"] == 1
        assert await row_counts(pg_url(target)) == counts
        assert checksums(site.root / "restored") == checksums(site.path("anclora_upload_folder"))

        for number, fix_manifest in enumerate((False, True)):
            bad_stamp = stamp[:-2] + f"{number}Z" if stamp[-2] != str(number) else stamp[:-2] + "9Z"
            corrupt_copy(site, stamp, bad_stamp, fix_manifest=fix_manifest)
            result = await run_playbook(ops, "restore", {"date": bad_stamp, "target_database": refused,
                                                       "target_upload_folder": str(site.root / "refused")})
            assert result["status"] == "failed"
            # the manifest refuses the cut dump; with a manifest made to match, pg_restore reading it through does
            expected = "PostgreSQL can read" if fix_manifest else "against its sha256"
            assert expected in result["message"]
            assert not databases(refused) and not (site.root / "refused").exists()
    finally:
        psql(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in (source, target, refused)))


async def test_sqlite_backup_restores_and_admin_text_is_never_templated(ops, site):
    source, target = site.root / "source.db", site.root / "restored.db"
    use_backup_site(site, anclora_db_backend="sqlite", anclora_sqlite_path=str(source),
                    restore_sqlite_path=str(target))
    await populate(f"sqlite:///{source}", site.path("anclora_upload_folder"))
    pwned = Path(f"/tmp/anclora-pwned-{uuid.uuid4().hex}")
    payload = "{{ lookup('pipe', 'touch " + str(pwned) + "') }}"

    backup = await run_playbook(ops, "backup", {"note": payload})
    assert backup["status"] == "successful", backup["message"]
    stamp = only_backup(site)
    assert not pwned.exists()
    assert json.loads((site.path("anclora_backup_dir") / stamp / "backup.json").read_text())["note"] == payload

    restored = await run_playbook(ops, "restore", {"date": stamp, "target_upload_folder": str(site.root / "restored")})
    assert restored["status"] == "successful", restored["message"]
    assert await row_counts(f"sqlite:///{target}") == await row_counts(f"sqlite:///{source}")
    assert checksums(site.root / "restored") == checksums(site.path("anclora_upload_folder"))


async def test_weekly_maintenance_runs_cleanup_and_catches_a_damaged_file(ops, site):
    database = site.root / "site.db"
    use_backup_site(site, anclora_db_backend="sqlite", anclora_sqlite_path=str(database),
                    anclora_cli_env={"DATABASE_URL": f"sqlite:///{database}",
                                     "UPLOAD_FOLDER": str(site.root / "uploads")})
    await populate(f"sqlite:///{database}", site.path("anclora_upload_folder"), files=2)

    result = await run_playbook(ops, "maintenance", {"schedule": "weekly"})
    assert result["status"] == "successful", result["message"]

    stored = next(path for path in site.path("anclora_upload_folder").rglob("*") if path.is_file())
    stored.write_bytes(b"bit rot")
    result = await run_playbook(ops, "maintenance", {"schedule": "weekly"})
    assert result["status"] == "failed" and "anclora verify" in result["message"]
