"""Files in an S3-compatible bucket: `<prefix>objects/<2 hex>/<32 hex>`, written by multipart uploads as the bytes
arrive; resumable uploads as multipart uploads that outlive requests and processes.

A resumable upload `<id>` is `<prefix>resumable/<id>.info` (its multipart upload's id and part size) and that
multipart upload, created at once, for the object the upload becomes. Byte `i` belongs to part `i // part_size + 1`;
every part but the last is exactly `part_size` long. What a request leaves past the last full part (S3 refuses
parts under 5 MiB but the last) is kept as the object `<prefix>resumable/<id>.<n>.incomplete`, `n` being the
number of full parts before it, and put back in front of the next request's bytes, as tusd's s3store keeps its
"incomplete part". So any process can take the next request: the offset is in the database, the bytes and their
layout in the bucket. A request that dies after sending parts but before its offset is recorded leaves parts
that the next request replaces (same numbers) and an incomplete piece whose first bytes are the old one's, so
nothing recorded is ever overwritten by what was not.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import AsyncIterator

from .. import sniff
from ..errors import ServiceUnavailable
from . import Storage
from .local import hash_file, sweep_folder
from .s3client import NoSuchKey, RangedObject, S3Client, is_missing, part_entry
from .s3parts import S3Appender, S3Writer, new_key, scratch_tmp, unavailable

log = logging.getLogger("anclora.storage")
PRESIGN_SECONDS = 300
KEPT_HEADS = 256  # heads of files this process wrote, kept until they are sniffed
HASH_CHUNK = 1024 * 1024
_HEX = set("0123456789abcdef")


class S3Storage(Storage):
    name = "s3"

    def __init__(self, s3: S3Client, prefix: str, scratch: str, part_size: int):
        self.s3, self.prefix, self.part_size = s3, prefix, part_size
        self.scratch = Path(scratch).resolve()
        self.tmp_dir = scratch_tmp(self.scratch)
        self._background: set[asyncio.Task] = set()
        self._heads: dict[str, bytes] = {}

    @classmethod
    def from_settings(cls, settings) -> "S3Storage":
        bucket, _, prefix = settings.storage_url[len("s3://"):].partition("/")
        prefix = prefix.strip("/")
        s3 = S3Client(bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                      access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key)
        return cls(s3, f"{prefix}/" if prefix else "", settings.upload_folder, settings.s3_part_size)

    def describe(self) -> str:
        return f"s3://{self.s3.bucket}/{self.prefix}"

    # -- names ----------------------------------------------------------------------------------------------------

    new_key = staticmethod(new_key)

    def object_name(self, key: str) -> str:
        head, _, name = key.partition("/")
        if len(head) != 2 or len(name) != 32 or not set(head + name) <= _HEX:
            raise ValueError(f"not a storage key: {key!r}")
        return f"{self.prefix}objects/{key}"

    def info_name(self, part: str) -> str:
        return f"{self.prefix}resumable/{part}.info"

    def incomplete_name(self, part: str, full_parts: int) -> str:
        return f"{self.prefix}resumable/{part}.{full_parts}.incomplete"

    @staticmethod
    def part_key(part: str) -> str:
        """The key a resumable upload's object will have: its id's hex (random, and known to every process)."""
        name = part.replace("-", "")
        return f"{name[:2]}/{name}"

    # -- multipart uploads ------------------------------------------------------------------------------------------

    async def start_multipart(self, name: str) -> str:
        return (await self.s3.call("create_multipart_upload", Key=name, **self.s3.checksum_args()))["UploadId"]

    async def complete_multipart(self, name: str, upload_id: str, parts: dict[int, dict]) -> None:
        """`parts`: part number -> its `part_entry` (ETag, and its checksum when the upload declared one)."""
        listed = [{"PartNumber": number, **parts[number]} for number in sorted(parts)]
        await self.s3.call("complete_multipart_upload", Key=name, UploadId=upload_id,
                           MultipartUpload={"Parts": listed})

    async def abort_multipart(self, name: str, upload_id: str) -> None:
        try:
            await self.s3.call("abort_multipart_upload", Key=name, UploadId=upload_id)
        except NoSuchKey:  # (NoSuchUpload: aborted or completed already)
            pass

    def in_background(self, coroutine, label: str) -> None:
        """Run a clean-up without holding up the request; a failure is logged (`anclora cleanup` sweeps later)."""
        async def run() -> None:
            try:
                await coroutine
            except Exception as error:
                log.warning("%s failed: %s", label, error)
        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=10)
        self.s3.close()

    # -- files ------------------------------------------------------------------------------------------------------

    def writer(self) -> S3Writer:
        return S3Writer(self)

    def read(self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
             ) -> AsyncIterator[bytes]:
        return self.read_name(self.object_name(key), start, end, chunk_size)

    async def read_name(self, name: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
                        ) -> AsyncIterator[bytes]:
        ranged = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        body = (await self.s3.call("get_object", Key=name, **ranged))["Body"]
        try:
            while chunk := await self.s3.run(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    def remember_head(self, key: str, head: bytes) -> None:
        """The first bytes of a file just written, so that sniffing it needs no request (a ranged GET costs some
        servers, moto's among them, a read of the whole object)."""
        if len(self._heads) >= KEPT_HEADS:
            del self._heads[next(iter(self._heads))]
        self._heads[key] = head

    async def sniff(self, key: str, hint: str = "") -> str:
        head = self._heads.pop(key, None)
        if head is not None and not head.startswith(b"PK"):  # (a zip's format is in its central directory)
            return sniff.sniff(io.BytesIO(head), hint)

        def sniffed() -> str:
            with io.BufferedReader(RangedObject(self.s3, self.object_name(key)), 64 * 1024) as handle:
                return sniff.sniff(handle, hint)
        return await self.s3.run(sniffed)

    async def stage(self, key: str, path: Path) -> None:
        def download() -> None:
            body = self.s3.client.get_object(Bucket=self.s3.bucket, Key=self.object_name(key))["Body"]
            with body, open(path, "xb") as handle:
                while chunk := body.read(HASH_CHUNK):
                    handle.write(chunk)
        await self.s3.run(download)

    async def import_file(self, path: Path, sha256: str | None = None, durable: bool = True
                          ) -> tuple[str, int, str]:
        from boto3.s3.transfer import TransferConfig

        key = self.new_key()
        config = TransferConfig(multipart_threshold=self.part_size, multipart_chunksize=self.part_size,
                                max_concurrency=2)

        def upload() -> tuple[int, str]:
            size, sha = (path.stat().st_size, sha256) if sha256 else hash_file(path)
            self.s3.client.upload_file(str(path), self.s3.bucket, self.object_name(key), Config=config)
            path.unlink()
            return size, sha
        try:
            size, sha = await self.s3.run(upload)
        except OSError:
            raise
        except Exception as error:
            raise unavailable(error) from None
        return key, size, sha

    async def link(self, key: str) -> str:
        """A server-side copy (S3 has no links; CopyObject takes objects up to 5 GB)."""
        new = self.new_key()
        await self.s3.call("copy_object", Key=self.object_name(new),
                           CopySource={"Bucket": self.s3.bucket, "Key": self.object_name(key)})
        return new

    async def delete(self, key: str) -> None:
        await self.s3.call("delete_object", Key=self.object_name(key))

    async def inventory(self) -> dict[str, float]:
        root = f"{self.prefix}objects/"
        listed = await self.s3.pages("list_objects_v2", "Contents", Prefix=root)
        return {item["Key"][len(root):]: item["LastModified"].timestamp() for item in listed}

    async def sweep(self, cutoff: float) -> int:
        """Abort multipart uploads started before `cutoff` that belong to no resumable upload still stored."""
        live = {self.object_name(self.part_key(part)) for part, _ in await self.parts()}
        uploads = await self.s3.pages("list_multipart_uploads", "Uploads", Prefix=f"{self.prefix}objects/")
        stale = [upload for upload in uploads
                 if upload["Initiated"].timestamp() < cutoff and upload["Key"] not in live]
        for upload in stale:
            await self.abort_multipart(upload["Key"], upload["UploadId"])
        return len(stale) + sweep_folder(self.tmp_dir, cutoff)

    async def verify(self, key: str) -> tuple[int, str] | None:
        def rehash() -> tuple[int, str]:
            body = self.s3.client.get_object(Bucket=self.s3.bucket, Key=self.object_name(key))["Body"]
            digest, size = hashlib.sha256(), 0
            with body:
                while chunk := body.read(HASH_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            return size, digest.hexdigest()
        try:
            return await self.s3.run(rehash)
        except Exception as error:
            if is_missing(error):
                return None
            raise

    def free_bytes(self) -> None:
        return None

    async def check(self) -> dict:
        await self.s3.call("head_bucket")
        return {"backend": self.name}

    def download_url(self, key: str, filename: str, content_type: str, disposition: str) -> str | None:
        return self.s3.client.generate_presigned_url("get_object", ExpiresIn=PRESIGN_SECONDS, Params={
            "Bucket": self.s3.bucket, "Key": self.object_name(key),
            "ResponseContentDisposition": disposition, "ResponseContentType": content_type})

    # -- resumable uploads ------------------------------------------------------------------------------------------

    async def _info(self, part: str) -> dict:
        body = (await self.s3.call("get_object", Key=self.info_name(part)))["Body"]
        return json.loads(await self.s3.run(body.read))

    async def create_part(self, name: str) -> None:
        key = self.part_key(name)
        upload_id = await self.start_multipart(self.object_name(key))
        info = {"upload_id": upload_id, "part_size": self.part_size, "key": key}
        await self.s3.call("put_object", Key=self.info_name(name), Body=json.dumps(info).encode())

    async def appender(self, name: str, offset: int, room: int, checksum, sha256=None) -> S3Appender:
        info = await self._info(name)
        current = self.incomplete_name(name, offset // info["part_size"])
        for item in await self.s3.pages("list_objects_v2", "Contents", Prefix=f"{self.prefix}resumable/{name}."):
            if item["Key"].endswith(".incomplete") and item["Key"] != current:  # (sent as parts since, or past
                await self.s3.call("delete_object", Key=item["Key"])      # the offset: never recorded)
        appender = S3Appender(self, name, info, offset, room, checksum, sha256)
        try:
            await appender.resume()
        except BaseException:
            appender.close()
            raise
        return appender

    async def import_part(self, name: str, size: int, sha256: str | None) -> tuple[str, int, str]:
        info = await self._info(name)
        key, target = info["key"], self.object_name(info["key"])
        if size == 0:  # (a multipart upload needs a part)
            await self.abort_multipart(target, info["upload_id"])
            await self.s3.call("put_object", Key=target, Body=b"")
        else:
            count = -(-size // info["part_size"])
            listed = await self.s3.pages("list_parts", "Parts", Key=target, UploadId=info["upload_id"])
            parts = {part["PartNumber"]: part_entry(part) for part in listed if part["PartNumber"] <= count}
            if len(parts) != count:
                raise ServiceUnavailable("Parts of this upload are missing from the bucket; start it again.")
            await self.complete_multipart(target, info["upload_id"], parts)
        await self._remove_part_objects(name)
        if sha256 is None:
            size, sha256 = await self.verify(key)
        return key, size, sha256

    async def delete_part(self, name: str) -> None:
        try:
            info = await self._info(name)
        except NoSuchKey:
            pass
        else:
            await self.abort_multipart(self.object_name(info["key"]), info["upload_id"])
        await self._remove_part_objects(name)

    async def _remove_part_objects(self, name: str) -> None:
        for item in await self.s3.pages("list_objects_v2", "Contents", Prefix=f"{self.prefix}resumable/{name}."):
            await self.s3.call("delete_object", Key=item["Key"])

    async def parts(self) -> list[tuple[str, float]]:
        root = f"{self.prefix}resumable/"
        listed = await self.s3.pages("list_objects_v2", "Contents", Prefix=root)
        return [(item["Key"][len(root):-len(".info")], item["LastModified"].timestamp())
                for item in listed if item["Key"].endswith(".info")]
