"""Documents for the Gotenberg route tests: Word files with page breaks, PDFs whose pages have a telling size,
a PDF with a filled-in form field."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pypdf import PdfReader

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>')
PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


def write_docx(path: Path, pages: int = 1, text: str = "Page") -> Path:
    """A Word document of `pages` pages, page n saying '<text> n'."""
    body = PAGE_BREAK.join(f"<w:p><w:r><w:t>{text} {n}</w:t></w:r></w:p>" for n in range(1, pages + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                              f'<w:document {W_NS}><w:body>{body}</w:body></w:document>')
    return path


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _content(text: str) -> bytes:
    data = b"BT /F1 18 Tf 20 20 Td (%s) Tj ET" % text.encode("latin-1")
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def write_pdf(path: Path, pages: int, side: int) -> Path:
    """`pages` pages of `side` x `side` points (the size tells whose page it is after a merge)."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % (side, side, 5 + 2 * i))
        objects.append(_content(f"{path.stem} page {i + 1}"))
    path.write_bytes(_pdf(objects))
    return path


def write_form_pdf(path: Path, value: str = "Filled in") -> Path:
    """One page with a text field whose appearance shows `value`."""
    appearance = b"/Tx BMC BT /F1 12 Tf 2 6 Td (%s) Tj ET EMC" % value.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /DA (/F1 12 Tf 0 g) "
        b"/DR << /Font << /F1 3 0 R >> >> >> >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 7 0 R /Annots [5 0 R] "
        b"/Resources << /Font << /F1 3 0 R >> >> >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (%s) /Rect [20 200 220 224] /P 4 0 R "
        b"/F 4 /DA (/F1 12 Tf 0 g) /AP << /N 6 0 R >> >>" % value.encode("latin-1"),
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 200 24] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Length %d >>\nstream\n%s\nendstream" % (len(appearance), appearance),
        _content("A form"),
    ]
    path.write_bytes(_pdf(objects))
    return path


def page_sides(data_or_path) -> list[int]:
    """The width of each page, in order."""
    reader = PdfReader(data_or_path)
    return [round(float(page.mediabox.width)) for page in reader.pages]


def write_odt_with_photo(path: Path, side: int = 1200) -> Path:
    """A text document showing one photo-like picture (noise: JPEG quality and resolution change its size)."""
    from PIL import Image

    picture = io.BytesIO()
    Image.effect_noise((side, side), 60).convert("RGB").save(picture, "PNG")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"><office:body><office:text><text:p>'
        '<draw:frame draw:name="photo" text:anchor-type="paragraph" svg:width="15cm" svg:height="15cm">'
        '<draw:image xlink:href="Pictures/photo.png" xlink:type="simple" xlink:show="embed" '
        'xlink:actuate="onLoad"/></draw:frame></text:p></office:text></office:body></office:document-content>')
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="Pictures/photo.png" manifest:media-type="image/png"/>'
        '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("Pictures/photo.png", picture.getvalue(), zipfile.ZIP_STORED)
    return path
