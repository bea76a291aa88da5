"""The zip container preflight every office, epub and zip converter runs before its engine: what it refuses (with
the reason in the 422's details) and that real documents pass."""

from __future__ import annotations

import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest

from anclora.engines.zipcheck import ZipLimits, check_zip
from anclora.errors import ConversionFailed
from samples import write_docx, write_odp, write_ods, write_odt, write_xlsx, write_zip_bomb_docx


def refused(path: Path, limits: ZipLimits = ZipLimits()) -> str:
    with pytest.raises(ConversionFailed) as error:
        check_zip(path, limits)
    assert error.value.status == 422 and error.value.code == "conversion_failed"
    return error.value.details["reason"]


def archive_with(path: Path, *entries: tuple[zipfile.ZipInfo | str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for info, data in entries:
            archive.writestr(info, data)
    return path


@pytest.mark.parametrize("writer", [write_docx, write_xlsx, write_odt, write_ods, write_odp])
def test_real_documents_pass(writer, tmp_path):
    assert check_zip(writer(tmp_path / f"doc.{writer.__name__.rsplit('_', 1)[1]}")) is None


def test_a_zip_bomb_is_refused_from_its_directory_alone(tmp_path):
    bomb = write_zip_bomb_docx(tmp_path / "bomb.docx")
    started = time.monotonic()
    assert "compressed more than 200:1" in refused(bomb)
    assert time.monotonic() - started < 0.5


def test_too_much_in_total_is_refused(tmp_path):
    path = archive_with(tmp_path / "big.docx", ("word/media/a.bin", bytes(3 * 2**20)))
    assert "unpacks to more than" in refused(path, ZipLimits(max_total_bytes=2 * 2**20))


def test_too_many_entries_are_refused(tmp_path):
    path = archive_with(tmp_path / "many.docx", *((f"word/e{n}.xml", b"x") for n in range(20)))
    assert "more than 10 entries" in refused(path, ZipLimits(max_entries=10))


@pytest.mark.parametrize("name", ["../../etc/cron.d/evil", "/etc/passwd", "word/../../evil.xml",
                                  "C:\\Windows\\evil.xml", "..\\evil.xml"])
def test_names_that_leave_the_archive_are_refused(name, tmp_path):
    path = archive_with(tmp_path / "names.docx", (name, b"x"))
    reason = refused(path)
    assert "climbs out" in reason or "absolute" in reason


def test_symlinks_are_refused(tmp_path):
    link = zipfile.ZipInfo("word/link.xml")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = archive_with(tmp_path / "link.docx", (link, b"/etc/passwd"))
    assert "symbolic link" in refused(path)


def test_duplicate_names_are_refused(tmp_path):
    path = tmp_path / "dup.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<one/>")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("word/document.xml", "<two/>")
    assert "duplicate entry" in refused(path)


def test_a_header_that_lies_about_its_size_is_caught_when_inflating(tmp_path):
    path = archive_with(tmp_path / "liar.docx", ("word/media/a.bin", bytes(2**20)))
    data = bytearray(path.read_bytes())
    # shrink the declared size in the central directory entry of the last file: it now claims 1 KiB
    entry = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, entry + 24, 1024)
    path.write_bytes(bytes(data))
    assert "damaged archive" in refused(path)


def test_garbage_and_truncated_archives_are_refused(tmp_path):
    garbage = tmp_path / "garbage.docx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(200))
    assert "end of central directory" in refused(garbage)
    truncated = tmp_path / "truncated.docx"
    whole = write_docx(tmp_path / "whole.docx").read_bytes()
    truncated.write_bytes(whole[: len(whole) - 30])
    refused(truncated)
