"""POST /api/convert: one-shot conversion — the upload streams in, the converted bytes come back."""

from __future__ import annotations

import tornado.web

from .. import sniff
from ..errors import BadRequest, ConversionTimeout, UnsupportedConversion
from ..jobs import service
from ..openapi import STRING, Body, obj, operation
from .files import send_file
from .streaming import UPLOAD, UploadHandler

RESERVED_ARGUMENTS = ("to", "filename", "cache")
TARGET = obj({**UPLOAD["query"], "to": {**STRING, "description": "The format to convert into."},
              "cache": {"type": "boolean", "default": True,
                        "description": "false: convert again even when an earlier identical conversion's result "
                                       "could be reused."}}, required=("to",),
             closed=False, additionalProperties={**STRING, "description": "The converter's options, by name."})
CONVERTED = {
    200: Body("*/*", description="The converted file, as an attachment."), **UPLOAD["responses"],
    402: "Not enough credits.", 415: "The file's type could not be recognised.",
    422: "No converter makes `to` from this file, the conversion failed (the message says why), or the malware "
         "scanner found something in it (`infected`).",
    429: "A limit of the plan, the uploads or the queue is reached; try again after Retry-After.",
    504: "The conversion took longer than the synchronous limit.",
}


@tornado.web.stream_request_body
class ConvertHandler(UploadHandler):
    # The input is removed once the answer is sent, and a crash fails the request whatever was written: its
    # fsyncs (15-20 ms for a 1.1 MB picture here, the largest fixed cost of a small conversion) buy nothing.
    durable = False

    async def prepare(self) -> None:
        await super().prepare()
        query = self.query()
        self.target = sniff.normalize(query["to"])
        self.use_cache = query["cache"]
        if not self.target:
            raise BadRequest("`to` is required: the format to convert into.")
        planner = self.ctx.planner
        if not any(step.target == self.target for steps in planner.edges.values() for step in steps):
            raise UnsupportedConversion(f"No converter produces {self.target}.", details={"to": self.target})
        await self.start_upload()

    @operation(CONVERTED, uploads=UPLOAD["bodies"], headers=UPLOAD["headers"], query=TARGET)
    async def post(self) -> None:
        """Convert the uploaded body to `?to=` and answer with the result (504 after the sync timeout); a repeat
        is answered from the result cache unless `?cache=false`."""
        record = await self.finish_upload(save=False)  # (a cache hit never needs the input's row)
        try:
            answer = await self._convert(record)
        finally:  # keep nothing the caller can see: the input's bytes go before the answer, the result's after
            await self.ctx.storage.delete(record.storage_key)
        try:
            await send_file(self, answer.file, filename=answer.filename, opened=answer.opened)
        finally:
            await answer.sent(self.ctx)

    async def _convert(self, record) -> service.Answer:
        """Convert the upload (through the executor, unless the result cache answers)."""
        arguments = {name: [v.decode("utf-8", "replace") for v in values]
                     for name, values in self.request.query_arguments.items() if name not in RESERVED_ARGUMENTS}
        service.plan(self.ctx, record.format, self.target)  # a file of no known type is refused here
        options = self.ctx.planner.options_from_query(record.format, self.target, arguments)
        timeout = self.ctx.settings.sync_timeout
        try:
            return await service.one_shot(self.ctx, self.identity, record, to=self.target, options=options,
                                          timeout=timeout, use_cache=self.use_cache)
        except ConversionTimeout:
            raise ConversionTimeout(f"The conversion did not finish within {timeout:g} s; "
                                    "use POST /api/conversions for long jobs.") from None


default_handlers = [(r"/api/convert", ConvertHandler)]
