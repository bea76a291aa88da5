"""Test samples made on the spot (Pillow images, ffmpeg lavfi audio/video, Python-written data files), hostile files,
and the bundled converters loaded the way the server loads them."""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

from anclora import config
from anclora.conversion.converter import Converter
from anclora.conversion.registry import collect_converters
from anclora.plugins import make_plugin_manager


@functools.lru_cache(maxsize=1)
def bundled_converters() -> dict[str, Converter]:
    """Every converter the bundled plugins register, through the real plugin manager."""
    settings = config.load(environ={}, overrides={"plugins_entrypoints": False, "jwt_secret_key": "t" * 40},
                           dotenv=None)
    return collect_converters(make_plugin_manager(settings))


# -- images -----------------------------------------------------------------------------------------------------

PILLOW_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF",
                "ico": "ICO", "avif": "AVIF", "heic": "HEIF"}


def image_sample(path: Path, fmt: str, size: tuple[int, int] = (64, 48)) -> Path:
    """A half-red, half-blue picture (semi-transparent where the format allows) saved as `fmt` by Pillow."""
    import pillow_heif
    from PIL import Image, ImageDraw

    pillow_heif.register_heif_opener()
    image = Image.new("RGBA", size, (255, 0, 0, 255))
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=(0, 0, 255, 128))
    if fmt in ("jpeg", "bmp"):
        image = image.convert("RGB")
    image.save(path, PILLOW_NAMES[fmt], **({"sizes": [size]} if fmt == "ico" else {}))
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims `width`x`height` pixels: decoding it for real would need gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
                     + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + png_chunk(b"IEND", b""))
    return path


def gif_with_frames(path: Path, frames: int) -> Path:
    """A 1x1 GIF with `frames` frames, written byte by byte (15 bytes a frame)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    # image descriptor, LZW minimum code size 2, one sub-block holding clear(4) 0 end(5) in 3-bit codes
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    path.write_bytes(screen + frame * frames + b"\x3b")
    return path


# -- audio and video --------------------------------------------------------------------------------------------

VIDEO_SAMPLE_ARGS = {
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mp4"],
    "webm": ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libvorbis", "-f", "webm"],
    "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "flac", "-f", "matroska"],
    "mov": ["-c:v", "mpeg4", "-c:a", "aac", "-f", "mov"],
    "avi": ["-c:v", "mpeg4", "-c:a", "libmp3lame", "-f", "avi"],
}
AUDIO_SAMPLE_ARGS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "ogg": ["-c:a", "libvorbis", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "m4a": ["-c:a", "aac", "-f", "ipod"],
    "opus": ["-c:a", "libopus", "-f", "opus"],
}


def ffmpeg(*args: str) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def video_sample(path: Path, fmt: str, seconds: float = 1.0) -> Path:
    """`seconds` of testsrc at 64x48, 10 fps, with a sine tone, encoded as `fmt`."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-shortest",
           *VIDEO_SAMPLE_ARGS[fmt], str(path))
    return path


def audio_sample(path: Path, fmt: str, seconds: float = 1.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
           *AUDIO_SAMPLE_ARGS[fmt], str(path))
    return path


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's JSON view of an output file (format and streams)."""
    result = subprocess.run([shutil.which("ffprobe"), "-v", "error", "-show_format", "-show_streams", "-of", "json",
                             str(path)], capture_output=True, check=True, timeout=60)
    return json.loads(result.stdout)


# -- data -------------------------------------------------------------------------------------------------------

RECORDS = [
    {"name": "Ana", "city": "Lugo", "age": 31},
    {"name": 'Zoë, "the" second', "city": "Ñandú\nline", "age": 7},
    {"name": "=1+1", "city": "", "age": 120},
]
NAMES = [record["name"] for record in RECORDS]


def data_sample(path: Path, fmt: str) -> Path:
    """RECORDS written as `fmt` with the format's usual library, not with the converter under test."""
    import csv

    if fmt in ("csv", "tsv"):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(RECORDS[0]), delimiter="," if fmt == "csv" else "\t")
            writer.writeheader()
            writer.writerows(RECORDS)
    elif fmt in ("json", "jsonl", "yaml", "xml"):
        path.write_text(_text_sample(fmt), encoding="utf-8")
    else:
        {"xlsx": _xlsx_sample, "ods": _ods_sample, "parquet": _parquet_sample}[fmt](path)
    return path


def _text_sample(fmt: str) -> str:
    import yaml
    from xml.sax.saxutils import escape

    if fmt == "json":
        return json.dumps(RECORDS, ensure_ascii=False)
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in RECORDS)
    if fmt == "yaml":
        return yaml.safe_dump(RECORDS, allow_unicode=True)
    rows = "".join("<person>" + "".join(f"<{key}>{escape(str(value))}</{key}>" for key, value in record.items())
                   + "</person>" for record in RECORDS)
    return f'<?xml version="1.0" encoding="utf-8"?><people>{rows}</people>'


def _xlsx_sample(path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(RECORDS[0]))
    for record in RECORDS:
        sheet.append([str(value) if str(value).startswith("=") else value for value in record.values()])
        sheet.cell(sheet.max_row, 1).data_type = "s"
    workbook.save(path)


def _ods_sample(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="people")
    for values in [list(RECORDS[0])] + [list(record.values()) for record in RECORDS]:
        row = TableRow()
        for value in values:
            cell = TableCell(valuetype="float", value=value) if isinstance(value, int) else TableCell()
            cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(path))


def _parquet_sample(path: Path) -> None:
    import pyarrow
    import pyarrow.parquet

    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(RECORDS), path)


def names_in(path: Path, fmt: str) -> list[str]:
    """The `name` column of a converted file, read back with the format's usual library."""
    import csv

    import yaml

    if fmt in ("csv", "tsv"):
        with open(path, newline="", encoding="utf-8") as handle:
            return [row["name"] for row in csv.DictReader(handle, delimiter="," if fmt == "csv" else "\t")]
    if fmt in ("json", "yaml"):
        return [row["name"] for row in yaml.safe_load(path.read_text(encoding="utf-8"))]
    if fmt == "jsonl":
        return [json.loads(line)["name"] for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "xml":
        import defusedxml.ElementTree as ElementTree

        return [record.findtext("name") for record in ElementTree.parse(path).getroot()]
    return {"xlsx": _xlsx_names, "ods": _ods_names, "parquet": _parquet_names}[fmt](path)


def _xlsx_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    column = list(rows[0]).index("name")
    return [row[column] for row in rows[1:]]


def _ods_names(path: Path) -> list[str]:
    from odf.opendocument import load
    from odf.table import TableCell, TableRow
    from odf.text import P

    rows = []
    for row in load(str(path)).spreadsheet.getElementsByType(TableRow):
        rows.append(["".join(str(p) for p in cell.getElementsByType(P)) for cell in row.getElementsByType(TableCell)])
    column = rows[0].index("name")
    return [row[column] for row in rows[1:]]


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet

    return [str(row["name"]) for row in pyarrow.parquet.read_table(path).to_pylist()]
