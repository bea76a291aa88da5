"""A converter that declares `pdfa` but writes a plain PDF: the host's XMP check must fail its conversions."""

from anclora import Converter, hookimpl
from anclora.conversion.pdfa import OPTION

PLAIN_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


class ClaimsPdfa(Converter):
    name = "claims_pdfa"
    sources = ("txt",)
    targets = ("pdf",)
    cost = 0  # the cheapest txt -> pdf, so the planner picks it
    options = {"type": "object", "additionalProperties": False, "properties": {"pdfa": OPTION}}

    async def convert(self, src, dst, options, ctx):
        dst.write_bytes(PLAIN_PDF)


@hookimpl
def anclora_register_converters():
    return [ClaimsPdfa()]
