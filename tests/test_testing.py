"""The fixtures' own promises: the storage backend follows ANCLORA_TEST_STORAGE, and a process a test starts gets
the test's storage."""

import pytest

from anclora import config
from anclora.testing import default_storage, storage_environ

STORAGE_SETTINGS = ("upload_folder", "storage_url", "s3_endpoint_url", "s3_region", "s3_access_key_id",
                    "s3_secret_access_key", "s3_part_size")


@pytest.fixture
def anclora_overrides():
    return {"s3_part_size": 6 * 1024 * 1024, "s3_region": "eu-west-3"}  # not the defaults, so a lost one shows


def test_the_default_backend_follows_the_environment(monkeypatch):
    monkeypatch.setenv("ANCLORA_TEST_STORAGE", "s3")
    assert default_storage() == "s3"
    monkeypatch.setenv("ANCLORA_TEST_STORAGE", "")
    assert default_storage() == "local"
    monkeypatch.setenv("ANCLORA_TEST_STORAGE", "minio")
    with pytest.raises(pytest.UsageError, match="'minio'"):
        default_storage()


@pytest.mark.storage_backends
def test_a_started_process_reads_the_storage_of_the_test(anclora_settings, anclora_storage):
    started = config.load(environ=storage_environ(anclora_settings), dotenv=None)
    names = STORAGE_SETTINGS if anclora_storage == "s3" else STORAGE_SETTINGS[:2]  # (the local folder needs no S3)
    assert {name: getattr(started, name) for name in names} == {name: getattr(anclora_settings, name) for name in names}
    assert started.storage_url.startswith("s3://") == (anclora_storage == "s3")
