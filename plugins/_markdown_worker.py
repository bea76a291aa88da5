"""The Markdown worker: PDF (pdfplumber) and PowerPoint (python-pptx) to Markdown that keeps headings, lists and
tables, run by plugins/ocr.py in the sandbox.

Usage: python _markdown_worker.py SRC DST SOURCE md OPTIONS_JSON (no options). A PDF has no headings or lists,
only positioned words, so they are read back from the layout: lines in a font larger than the body's are headings
(the larger, the higher), lines opening with a bullet or a number are list items, pdfplumber's ruled tables and
runs of lines whose words stand in the same far-apart columns become pipe tables, and the other lines are joined
into paragraphs.
"""

from __future__ import annotations

import collections
import re
import warnings
from pathlib import Path
from typing import Any, Iterable

from anclora.engines.worker import Refused, progress, serve

BULLETS = {"•", "◦", "▪", "■", "●", "○", "‣", "-", "–", "—", "*", "\uf0b7", "\uf0a7", "\uf0d8", "\uf076"}
NUMBERED = re.compile(r"^(\d{1,3}|[a-z])[.)]$")
HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
MAX_HEADING_WORDS = 15
LINE_TOLERANCE = 3.0  # points between the tops of words on one line
CELL_GAP = 1.5  # a gap this many times the font size parts two cells of a table row (a space is about 0.3)


def convert(src: Path, dst: Path, source: str, target: str, options: dict[str, Any]) -> None:
    blocks = pdf_blocks(src) if source == "pdf" else pptx_blocks(src)
    dst.write_text("\n\n".join(block for block in blocks if block.strip()) + "\n", encoding="utf-8")


# -- tables --------------------------------------------------------------------------------------------------------

def pipe_table(rows: list[list[Any]]) -> str:
    """Rows as a Markdown pipe table, the first one as its header."""
    rows = [[cell_text(cell) for cell in row] for row in rows if row and any(cell for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def cell_text(cell: Any) -> str:
    return " ".join(str(cell or "").split()).replace("|", "\\|")


# -- PDF -----------------------------------------------------------------------------------------------------------

def pdf_blocks(src: Path) -> list[str]:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pdfplumber.open(src) as pdf:
                pages = [page_items(page, number, len(pdf.pages)) for number, page in enumerate(pdf.pages, 1)]
    except PDFSyntaxError:
        raise Refused("This PDF cannot be processed.", details={"reason": "damaged PDF"}) from None
    sizes: collections.Counter = collections.Counter()
    for items in pages:
        for kind, line in items:
            if kind == "line":
                sizes[line["size"]] += len(line["text"])
    if not sizes:
        raise Refused("This PDF has no text to extract; ask for `ocr` if it is scanned.")
    body = sizes.most_common(1)[0][0]
    levels = {size: min(index + 1, 4) for index, size in
              enumerate(sorted((s for s in sizes if s >= body * HEADING_RATIO), reverse=True))}
    return [block for items in pages for block in write_page(items, levels)]


def page_items(page, number: int, count: int) -> list[tuple[str, Any]]:
    """The page's lines (text, size, top, bottom, x0) and tables, top to bottom."""
    tables = page.find_tables()
    boxes = [table.bbox for table in tables]
    # chars of one word share their top; a looser tolerance weaves two overlapping words into one
    words = [word for word in page.extract_words(extra_attrs=["size"], y_tolerance=1)
             if not any(inside(word, box) for box in boxes)]
    items: list[tuple[float, str, Any]] = [(line["top"], "line", line) for line in lines_of(words)]
    items += [(table.bbox[1], "table", table.extract()) for table in tables]
    progress(100 * number / count)
    return [(kind, value) for _, kind, value in sorted(items, key=lambda item: item[0])]


def inside(word: dict, box: tuple[float, float, float, float]) -> bool:
    middle_x, middle_y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
    return box[0] <= middle_x <= box[2] and box[1] <= middle_y <= box[3]


def lines_of(words: list[dict]) -> Iterable[dict]:
    current: list[dict] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if current and abs(word["top"] - current[0]["top"]) > LINE_TOLERANCE:
            yield line_of(current)
            current = []
        current.append(word)
    if current:
        yield line_of(current)


def line_of(words: list[dict]) -> dict:
    words = sorted(words, key=lambda w: w["x0"])
    size = collections.Counter(round(w["size"] * 2) / 2 for w in words).most_common(1)[0][0]
    cells: list[list[dict]] = [[words[0]]]
    for word in words[1:]:
        if word["x0"] - cells[-1][-1]["x1"] > size * CELL_GAP:
            cells.append([])
        cells[-1].append(word)
    return {"words": [w["text"] for w in words], "text": " ".join(w["text"] for w in words), "size": size,
            "top": min(w["top"] for w in words), "bottom": max(w["bottom"] for w in words),
            "x0": words[0]["x0"], "cells": [(cell[0]["x0"], " ".join(w["text"] for w in cell)) for cell in cells]}


def is_row(line: dict) -> bool:
    first = line["words"][0]
    return len(line["cells"]) >= 2 and first not in BULLETS and not NUMBERED.match(first)


def same_columns(row: dict, first: dict) -> bool:
    return len(row["cells"]) == len(first["cells"]) and all(
        abs(a[0] - b[0]) <= first["size"] * 2 for a, b in zip(row["cells"], first["cells"]))


def unruled_tables(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Runs of two or more lines whose words stand in the same columns, far apart, become tables (a table drawn
    without rules, which pdfplumber's ruled-table finder cannot see)."""
    merged: list[tuple[str, Any]] = []
    run: list[dict] = []

    def close() -> None:
        if len(run) >= 2:
            merged.append(("table", [[text for _, text in row["cells"]] for row in run]))
        else:
            merged.extend(("line", row) for row in run)
        run.clear()

    for kind, value in items:
        if kind == "line" and is_row(value) and (not run or same_columns(value, run[0])):
            run.append(value)
            continue
        close()
        if kind == "line" and is_row(value):
            run.append(value)
        else:
            merged.append((kind, value))
    close()
    return merged


def write_page(items: list[tuple[str, Any]], levels: dict[float, int]) -> list[str]:
    blocks: list[str] = []
    paragraph: list[dict] = []

    def flush() -> None:
        if paragraph:
            blocks.append(" ".join(line["text"] for line in paragraph))
            paragraph.clear()

    for kind, value in unruled_tables(items):
        if kind == "table":
            flush()
            blocks.append(pipe_table(value))
            continue
        line, first = value, value["words"][0]
        if line["size"] in levels and len(line["words"]) <= MAX_HEADING_WORDS:
            flush()
            blocks.append("#" * levels[line["size"]] + " " + line["text"])
        elif first in BULLETS or NUMBERED.match(first):
            flush()
            marker = "-" if first in BULLETS else f"{first.rstrip('.)')}." if first[0].isdigit() else "-"
            item = f"{marker} {' '.join(line['words'][1:])}"
            glued = blocks and blocks[-1].startswith(("- ", *(f"{n}." for n in range(10))))
            blocks[-1:] = [blocks[-1] + "\n" + item] if glued else [*blocks[-1:], item]
        elif paragraph and (line["top"] - paragraph[-1]["bottom"] > line["size"] * 0.9
                            or line["size"] != paragraph[-1]["size"]):
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
    flush()
    return blocks


# -- PowerPoint ----------------------------------------------------------------------------------------------------

def pptx_blocks(src: Path) -> list[str]:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(str(src))
    except (PackageNotFoundError, KeyError, ValueError):
        raise Refused("the file is not a valid pptx presentation", "unsupported_media_type") from None
    blocks: list[str] = []
    slides = list(deck.slides)
    for number, slide in enumerate(slides, 1):
        title = slide.shapes.title
        if title is not None and title.has_text_frame and title.text_frame.text.strip():
            blocks.append("# " + " ".join(title.text_frame.text.split()))
        for shape in ordered(slide.shapes):
            if title is not None and shape.shape_id == title.shape_id:
                continue
            blocks.extend(shape_blocks(shape))
        progress(100 * number / len(slides))
    return blocks


def ordered(shapes) -> list:
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def shape_blocks(shape) -> list[str]:
    if shape.shape_type is not None and shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP
        return [block for inner in ordered(shape.shapes) for block in shape_blocks(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return [pipe_table([[cell.text for cell in row.cells] for row in shape.table.rows])]
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return []
    bulleted = shape.is_placeholder and shape.placeholder_format.type in (2, 7)  # BODY, OBJECT
    lines = []
    for paragraph in shape.text_frame.paragraphs:
        text = " ".join(paragraph.text.split())
        if text:
            lines.append(f"{'  ' * paragraph.level}- {text}" if bulleted else text)
    return ["\n".join(lines)] if bulleted else lines


if __name__ == "__main__":
    serve(convert)
