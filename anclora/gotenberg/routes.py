"""What each Gotenberg route does with its input files and fields, as steps of our converters:
office documents -> pdf (`office_*`), PDFs -> one PDF (`pdf_merge`), PDF -> parts (`pdf_split`, `pdf_pages`),
metadata, flattening and passwords (`pdf_pages`), metadata read (`pdf_metadata`); the PDF tool routes are in
`pdftools.py`."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from ..db.models import File
from ..errors import BadRequest
from . import fields
from .work import Work, stem_of


@dataclasses.dataclass
class Answer:
    """A route's result: one file (PDF or zip), or JSON."""

    record: File | None = None
    json: Any = None


def alphanumeric(name: str) -> list[tuple[int, Any]]:
    """Sort key putting 'file2.pdf' before 'file10.pdf', as Gotenberg orders merged files."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


def require_pdfs(inputs: list[File]) -> None:
    if not inputs:
        raise BadRequest("Invalid form data: no form file found for extensions: [.pdf]")
    for record in inputs:
        if record.format != "pdf":
            raise BadRequest(f"Invalid form data: '{record.filename}' is not a PDF.")


async def answer(work: Work, outputs: list[File], names: list[str]) -> Answer:
    if len(outputs) == 1:
        return Answer(outputs[0])
    return Answer(await work.bundle(list(zip(names, outputs))))


async def finish(work: Work, outputs: list[File], options: dict[str, Any]) -> list[File]:
    """Metadata written, forms flattened and passwords set (one `pdf_pages` step per PDF) when the fields asked
    for it."""
    options = fields.protection(options)
    if not options:
        return outputs
    return await work.convert_all(outputs, "pdf", options, converter="pdf_pages")


async def conform(work: Work, outputs: list[File], formats: dict[str, Any]) -> list[File]:
    """The PDFs written again as PDF/A (the host's PDF/A step after the planner's pdf -> pdf) or, with PDF/UA,
    by LibreOffice, when the fields asked for it."""
    if not formats:
        return outputs
    if "pdfua" not in formats:
        return await work.convert_all(outputs, "pdf", formats)
    return await work.convert_all(outputs, "pdf", formats, converter="office_pdf_formats")


async def merge(work: Work, pdfs: list[File], names: list[str]) -> File:
    """The PDFs in the alphanumeric order of their names, as one PDF."""
    ordered = sorted(zip(names, pdfs), key=lambda pair: alphanumeric(pair[0]))
    zipped = await work.bundle([(f"{index:05d}.pdf", record) for index, (_, record) in enumerate(ordered)])
    return await work.convert(zipped, "pdf", converter="pdf_merge")


async def libreoffice_convert(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    if not inputs:
        raise BadRequest("Invalid form data: no form file found for extensions: [.doc .docx .odt ...]")
    options = fields.read(form, {**fields.OFFICE_FIELDS, **fields.FINISH_FIELDS, **fields.MERGE_FIELD})
    formats = fields.formats(options)
    pdfs = await work.convert_all(inputs, "pdf", fields.pick(options, fields.OFFICE_FIELDS))
    names = [f"{stem_of(record.filename)}.pdf" for record in inputs]
    if options.get("merge") and len(pdfs) > 1:  # merging drops the conformance: LibreOffice writes it again
        pdfs, names = await conform(work, [await merge(work, pdfs, names)], formats), [names[0]]
    pdfs = await finish(work, pdfs, fields.pick(options, fields.FINISH_FIELDS))
    return await answer(work, pdfs, names)


async def pdf_merge(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    options = fields.read(form, {**fields.FINISH_FIELDS, **fields.FORMAT_FIELDS})
    formats = fields.formats(options)
    merged = await merge(work, inputs, [record.filename for record in inputs])
    merged = await conform(work, await finish(work, [merged], fields.pick(options, fields.FINISH_FIELDS)), formats)
    return Answer(merged[0])


async def pdf_split(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    options = fields.read(form, {**fields.SPLIT_FIELDS, **fields.FINISH_FIELDS})
    split = fields.split(fields.pick(options, fields.SPLIT_FIELDS))
    finishing = fields.pick(options, fields.FINISH_FIELDS)
    if split.unify:  # the listed pages of each file, kept together
        parts = await work.convert_all(inputs, "pdf", {"pages": split.span, **finishing}, converter="pdf_pages")
        return await answer(work, parts, [f"{stem_of(record.filename)}.pdf" for record in inputs])
    if finishing:
        raise BadRequest("Invalid form data: form fields 'metadata', 'flatten' and the encryption fields are only "
                         "supported with splitUnify on this server.")
    options = {"mode": split.mode, "span": split.span}
    if len(inputs) == 1:
        source, options["stem"] = inputs[0], stem_of(inputs[0].filename)
    else:  # one job splits them all, each part named after its file
        source = await work.bundle([(record.filename, record) for record in inputs])
    return Answer(await work.convert(source, "zip", options, converter="pdf_split"))


async def pdf_flatten(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    fields.read(form, {})
    flat = await work.convert_all(inputs, "pdf", {"flatten": True}, converter="pdf_pages")
    return await answer(work, flat, [record.filename for record in inputs])


async def metadata_write(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    options = fields.read(form, {"metadata": fields.FINISH_FIELDS["metadata"]})
    if "metadata" not in options:
        raise BadRequest("Invalid form data: form field 'metadata' is required")
    written = await work.convert_all(inputs, "pdf", options, converter="pdf_pages")
    return await answer(work, written, [record.filename for record in inputs])


async def metadata_read(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    require_pdfs(inputs)
    fields.read(form, {})
    documents = await work.convert_all(inputs, "json", converter="pdf_metadata")
    return Answer(json={record.filename: await work.read_json(document)
                        for record, document in zip(inputs, documents)})


async def pdf_convert(work: Work, inputs: list[File], form: dict[str, str]) -> Answer:
    """PDF/A and/or PDF/UA of existing PDFs, written again by LibreOffice."""
    require_pdfs(inputs)
    formats = fields.formats(fields.read(form, fields.FORMAT_FIELDS))
    if not formats:
        raise BadRequest("Invalid form data: either 'pdfa' or 'pdfua' form fields must be provided")
    converted = await conform(work, inputs, formats)
    return await answer(work, converted, [record.filename for record in inputs])


ROUTES = {
    "libreoffice/convert": libreoffice_convert,
    "pdfengines/merge": pdf_merge,
    "pdfengines/split": pdf_split,
    "pdfengines/flatten": pdf_flatten,
    "pdfengines/metadata/write": metadata_write,
    "pdfengines/metadata/read": metadata_read,
    "pdfengines/convert": pdf_convert,
}
