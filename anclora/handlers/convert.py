"""POST /api/convert: one-shot conversion — the upload streams in, the converted bytes come back."""

from __future__ import annotations

import tornado.web

from .. import files, sniff
from ..conversion import options as conversion_options

from ..db.models import File
from ..db.owned import get_owned
from ..errors import AncloraError, BadRequest, Conflict, ConversionFailed, ConversionTimeout, UnsupportedConversion
from ..jobs import service, store
from .files import send_file
from .streaming import UploadHandler

RESERVED_ARGUMENTS = ("to", "filename", "cache")
STATUS_BY_CODE = {"conversion_timeout": 504}


def _error_of(conversion: dict) -> AncloraError:
    """The error a failed job recorded, raised again for a synchronous caller."""
    recorded = conversion["error"] or {}
    error = ConversionFailed(recorded.get("message") or ConversionFailed.message)
    error.code = recorded.get("code") or ConversionFailed.code
    error.status = STATUS_BY_CODE.get(error.code, ConversionFailed.status)
    return error


@tornado.web.stream_request_body
class ConvertHandler(UploadHandler):
    # The input is removed once the answer is sent, and a crash fails the request whatever was written: its
    # fsyncs (15-20 ms for a 1.1 MB picture here, the largest fixed cost of a small conversion) buy nothing.
    durable = False

    async def prepare(self) -> None:
        await super().prepare()
        self.target = sniff.normalize(self.get_query_argument("to", "") or "")
        cache = self.get_query_argument("cache", "true").lower()
        if cache not in ("true", "false"):
            raise BadRequest("`cache` must be true or false.")
        self.use_cache = cache == "true"
        if not self.target:
            raise BadRequest("`to` is required: the format to convert into.")
        planner = self.ctx.planner
        if not any(step.target == self.target for steps in planner.edges.values() for step in steps):
            raise UnsupportedConversion(f"No converter produces {self.target}.", details={"to": self.target})
        self.start_upload()

    async def post(self) -> None:
        """Convert the uploaded body to `?to=` and answer with the result (504 after the sync timeout); a repeat
        is answered from the result cache unless `?cache=false`."""
        record = await self.finish_upload()
        result = None
        try:
            result = await self._convert(record)
        finally:  # keep nothing the caller can see: the rows go now, the bytes once sent (so no database work is
            # left after the answer); a computed result stays hidden for the result cache unless `cache=false`
            kept = [result.id] if result and result.cache_key else []
            await files.forget(self.ctx, [record.id] + ([result.id] if result and not kept else []), kept)
            await self.ctx.storage.delete(record.storage_key)
        try:
            await send_file(self, result)
        finally:
            if result.cache_key is None:
                await self.ctx.storage.delete(result.storage_key)

    async def _convert(self, record):
        """Run the conversion through the executor; the result's File row."""
        arguments = {name: [v.decode("utf-8", "replace") for v in values]
                     for name, values in self.request.query_arguments.items() if name not in RESERVED_ARGUMENTS}
        route = service.plan(self.ctx, record.format, self.target)
        options = conversion_options.from_query(route.options_schema, arguments)
        conversion, _ = await service.create(self.ctx, self.identity, file_id=record.id, to=self.target,
                                             options=options, use_cache=self.use_cache, record=record)
        if conversion["status"] not in store.FINAL:  # (the result cache answers at once)
            conversion = await self._wait(conversion["id"])
        if conversion is not None and conversion["status"] == store.FAILED:
            raise _error_of(conversion)
        if conversion is None or conversion["status"] != store.SUCCEEDED:
            raise ConversionFailed("The conversion was canceled.")
        return await get_owned(self.ctx, File, self.identity, conversion["result_file_id"])

    async def _wait(self, conversion_id: str) -> dict | None:
        """The conversion's JSON once it has ended (None if it vanished); cancels it and raises ConversionTimeout
        after `sync_timeout`."""
        try:
            row = await service.wait_final(self.ctx, conversion_id, self.ctx.settings.sync_timeout)
        except TimeoutError:
            try:
                await service.cancel(self.ctx, self.identity, conversion_id)
            except Conflict:  # it ended just now; the caller still gets the 504 it was promised, and nothing is kept
                await self._discard_result(conversion_id)
            raise ConversionTimeout(f"The conversion did not finish within {self.ctx.settings.sync_timeout:g} s; "
                                    "use POST /api/conversions for long jobs.") from None
        return None if row is None else store.as_json(row)

    async def _discard_result(self, conversion_id: str) -> None:
        row = await store.get(self.ctx, conversion_id)
        if row is not None and row.result_file_id:
            await files.delete_owned(self.ctx, self.identity, row.result_file_id)


default_handlers = [(r"/api/convert", ConvertHandler)]
