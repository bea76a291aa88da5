"""Document samples made on the spot for the conversion tests: hand-written ODF and OOXML zips, RTF, CSV, text and
PDFs, plus hostile variants (auto-run macros, links to local files, zip bombs, page-count bombs, huge pages,
stream bombs, encrypted and truncated PDFs). Nothing here runs an engine; other test modules import these."""

from __future__ import annotations

import subprocess
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
          'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
          'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
          'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:dom="http://www.w3.org/2001/xml-events" '
          'xmlns:ooo="http://openoffice.org/2004/office" office:version="1.2"')
ODF_TYPES = {"odt": "text", "ods": "spreadsheet", "odp": "presentation"}


# -- ODF ---------------------------------------------------------------------------------------------------------

def _odf(path: Path, kind: str, body: str, *, scripts: str = "", extra: dict[str, str] | None = None) -> Path:
    """An ODF package: the mimetype first and stored, a manifest, content.xml and any `extra` files."""
    mimetype = f"application/vnd.oasis.opendocument.{kind}"
    extra = extra or {}
    entries = "".join(f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
                      for name in extra)
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
                f'{entries}</manifest:manifest>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ODF_NS}>'
               f'<office:scripts>{scripts}</office:scripts>'
               f'<office:body><office:{kind}>{body}</office:{kind}></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
        archive.writestr("styles.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n'
                                       f'<office:document-styles {ODF_NS}><office:styles/></office:document-styles>')
        for name, data in extra.items():
            archive.writestr(name, data)
    return path


def write_odt(path: Path, paragraphs=("Hello from Anclora",), *, body_extra: str = "", scripts: str = "",
              extra: dict[str, str] | None = None) -> Path:
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs) + body_extra
    return _odf(path, "text", body, scripts=scripts, extra=extra)


def _ods_cell(value) -> str:
    if isinstance(value, (int, float)):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p>' \
               '</table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def write_ods(path: Path, rows=(("Name", "Count"), ("Anclora", 42))) -> Path:
    table = "".join("<table:table-row>" + "".join(map(_ods_cell, row)) + "</table:table-row>" for row in rows)
    return _odf(path, "spreadsheet", f'<table:table table:name="Sheet1">{table}</table:table>')


def write_odp(path: Path, slides=("Slide one", "Slide two")) -> Path:
    pages = "".join(
        f'<draw:page draw:name="page{n}"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">'
        f'<draw:text-box><text:p>{escape(title)}</text:p></draw:text-box></draw:frame></draw:page>'
        for n, title in enumerate(slides, 1))
    return _odf(path, "presentation", pages)


MACRO_LIBRARIES = ('<?xml version="1.0" encoding="UTF-8"?>\n<library:libraries '
                   'xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">'
                   '<library:library library:name="Standard" library:link="false"/></library:libraries>')
MACRO_LIBRARY = ('<?xml version="1.0" encoding="UTF-8"?>\n<library:library '
                 'xmlns:library="http://openoffice.org/2000/library" library:name="Standard" '
                 'library:readonly="false" library:passwordprotected="false">'
                 '<library:element library:name="Module1"/></library:library>')


AUTO_RUN_EVENTS = ("dom:load", "office:load-finished", "office:view-created")


def write_macro_odt(path: Path, marker: Path) -> Path:
    """A text document whose Basic macro, bound to the events of opening it, creates the file `marker`."""
    basic = (f'Sub Main\n  Dim n As Integer\n  n = FreeFile\n  Open "{marker}" For Output As #n\n'
             '  Print #n, "the macro ran"\n  Close #n\nEnd Sub\n')
    module = ('<?xml version="1.0" encoding="UTF-8"?>\n<script:module xmlns:script="http://openoffice.org/2000/script" '
              f'script:name="Module1" script:language="StarBasic">{escape(basic)}</script:module>')
    listener = "<office:event-listeners>" + "".join(
        f'<script:event-listener script:language="ooo:script" script:event-name="{event}" xlink:type="simple" '
        'xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/>'
        for event in AUTO_RUN_EVENTS) + "</office:event-listeners>"
    return write_odt(path, ["A document with an auto-run macro"], scripts=listener, extra={
        "Basic/script-lc.xml": MACRO_LIBRARIES, "Basic/Standard/script-lb.xml": MACRO_LIBRARY,
        "Basic/Standard/Module1.xml": module})


def write_linked_odt(path: Path, target: str = "/etc/passwd") -> Path:
    """A text document with a section and an image linked to a local file; only cached text is inside."""
    url = Path(target).as_uri()
    section = (f'<text:section text:name="Linked"><text:section-source xlink:href="{url}" xlink:type="simple" '
               'text:filter-name="Text (encoded)"/><text:p>cached section text</text:p></text:section>'
               '<text:p><draw:frame draw:name="Picture" svg:width="4cm" svg:height="4cm" text:anchor-type="paragraph">'
               f'<draw:image xlink:href="{url}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>'
               '</draw:frame></text:p>')
    return write_odt(path, ["A document with links to local files"], body_extra=section)


# -- OOXML ------------------------------------------------------------------------------------------------------

OOXML_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" '
              'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
              'Target="{target}"/></Relationships>')
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def write_docx(path: Path, paragraphs=("Hello from Anclora",), *, body_extra: str = "",
               extra: dict[str, str | bytes] | None = None) -> Path:
    """A minimal Word document: content types, package relationships and word/document.xml."""
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs) + body_extra
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
        "_rels/.rels": OOXML_RELS.format(target="word/document.xml"),
        "word/document.xml": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W_NS}>'
                              f'<w:body>{body}</w:body></w:document>'),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def write_linked_docx(path: Path, target: str = "/etc/passwd") -> Path:
    """A Word document whose INCLUDETEXT field pulls in a local file; only the cached result is inside."""
    field = (f'<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
             f'INCLUDETEXT "{target}" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
             '<w:r><w:t>cached field text</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')
    return write_docx(path, ["A document with a field that includes a local file"], body_extra=field)


def write_xlsx(path: Path, rows=(("Name", "Count"), ("Anclora", 42))) -> Path:
    """A minimal workbook with one sheet of inline strings and numbers."""
    def cell(value) -> str:
        if isinstance(value, (int, float)):
            return f"<c><v>{value}</v></c>"
        return f'<c t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'
    sheet_rows = "".join(f"<row>{''.join(map(cell, row))}</row>" for row in rows)
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": OOXML_RELS.format(target="xl/workbook.xml"),
        "xl/workbook.xml": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {main} {rel}>'
                            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                     f'<worksheet {main}><sheetData>{sheet_rows}</sheetData></worksheet>'),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def write_webservice_xlsx(path: Path, url: str) -> Path:
    """A workbook whose formula, with no cached value, fetches `url` (WEBSERVICE) when it is calculated."""
    write_xlsx(path, [("Fetched", "below")])
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    formula = f'<row><c t="str"><f>_xlfn.WEBSERVICE("{escape(url)}")</f></c></row></sheetData>'.encode()
    files["xl/worksheets/sheet1.xml"] = files["xl/worksheets/sheet1.xml"].replace(b"</sheetData>", formula)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def write_zip_bomb_docx(path: Path, inflated_bytes: int = 64 * 2**20) -> Path:
    """A valid-looking Word document with one entry of zeros that inflates about a thousandfold."""
    write_docx(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("word/media/padding.bin", "w", force_zip64=True) as entry:
            block = bytes(2**20)
            for _ in range(inflated_bytes // len(block)):
                entry.write(block)
    return path


# -- text formats -------------------------------------------------------------------------------------------------

def write_rtf(path: Path, text: str = "Hello from Anclora") -> Path:
    path.write_text("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Helvetica;}}\\f0\\fs24 " + text + "\\par}\n",
                    encoding="ascii")
    return path


def write_csv(path: Path, rows=(("Name", "Count"), ("Anclora", 42))) -> Path:
    path.write_text("".join(",".join(map(str, row)) + "\n" for row in rows), encoding="utf-8")
    return path


# -- PDF ----------------------------------------------------------------------------------------------------------

def pdf_bytes(objects: list[bytes]) -> bytes:
    """A PDF file of `objects` (object n is objects[n-1]; object 1 is the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    if compress:
        data, extra = zlib.compress(data), extra + b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def write_pdf(path: Path, pages=("Page one",), *, size=(612, 792)) -> Path:
    """A PDF with one page per string in `pages`, each showing its string in Helvetica."""
    count = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % (size[0], size[1], 5 + 2 * i))
        objects.append(_stream(b"BT /F1 24 Tf 72 %d Td (%s) Tj ET" % (size[1] - 100, safe)))
    path.write_bytes(pdf_bytes(objects))
    return path


def write_page_count_bomb(path: Path, fanout: int = 100, depth: int = 3) -> Path:
    """fanout**depth pages in a few kilobytes: every level's /Kids repeats one shared child node."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        child = b"%d 0 R" % (3 + level)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join([child] * fanout),
                                                                     fanout ** (depth - level)))
    objects.append(b"<< /Type /Page /MediaBox [0 0 612 792] >>")
    path.write_bytes(pdf_bytes(objects))
    return path


def write_huge_page_pdf(path: Path, side: int = 14400) -> Path:
    """One page of `side` × `side` points (14400, the largest PDF allows, is 5 m square)."""
    return write_pdf(path, ["Huge"], size=(side, side))


def write_stream_bomb_pdf(path: Path, inflated_bytes: int = 300 * 2**20) -> Path:
    """One page whose content stream is a few hundred kilobytes compressed and `inflated_bytes` inflated."""
    compressor, block, data = zlib.compressobj(1), b" " * 2**20, bytearray()
    for _ in range(inflated_bytes // len(block)):
        data += compressor.compress(block)
    data += compressor.compress(b"BT /F1 24 Tf 72 700 Td (bomb) Tj ET") + compressor.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
               b"/Resources << /Font << /F1 3 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + bytes(data) + b"\nendstream"]
    path.write_bytes(pdf_bytes(objects))
    return path


def write_shared_content_pdf(path: Path, pages: int = 300, inflated_bytes: int = 2**20) -> Path:
    """`pages` pages that all draw the same content stream (like a letterhead), `inflated_bytes` inflated."""
    content = b" " * inflated_bytes + b"BT /F1 24 Tf 72 700 Td (Letterhead) Tj ET"
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b"<< /Font << /F1 3 0 R >> >>",
               _stream(content, compress=True)]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources 4 0 R >>"] * pages
    path.write_bytes(pdf_bytes(objects))
    return path


def write_giant_image_pdf(path: Path, side: int = 20000) -> Path:
    """One page drawing an embedded image that declares `side` × `side` pixels."""
    pixels = zlib.compress(bytes(3 * 16))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
               _stream(b"q 500 0 0 500 50 50 cm /Im1 Do Q"),
               _stream(pixels, b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                       b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side))]
    path.write_bytes(pdf_bytes(objects))
    return path


def write_encrypted_pdf(path: Path, password: str = "secret") -> Path:
    from pypdf import PdfReader, PdfWriter

    source = write_pdf(path.with_name(path.stem + "-plain.pdf"), ["Confidential"])
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def write_truncated_pdf(path: Path) -> Path:
    data = write_pdf(path, ["One", "Two", "Three"]).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_pdf_zip(path: Path, parts: dict[str, Path], extra: dict[str, bytes] | None = None) -> Path:
    """A zip holding the PDFs `parts` (entry name -> file) and any other `extra` entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts.items():
            archive.write(part, name)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


# Old binary formats and pptx are made from the hand-written ODF samples by LibreOffice itself.
DERIVED = {"doc": "odt", "xls": "ods", "ppt": "odp", "pptx": "odp"}


def pdf_text(path: Path) -> str:
    """The text of a PDF as laid out on its pages (poppler's pdftotext)."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
