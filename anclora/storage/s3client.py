"""The S3 client: botocore (through boto3) run on a thread pool of its own, and a seekable file over ranged reads.

Chosen by measurement (docs/storage.md): part uploads from temporary files, two in flight, to the same server,
botocore on threads gave 125 MB/s for 0.27 s of client CPU per 128 MiB, aiobotocore 108 MB/s for 0.31 s; obstore
cannot resume another process's multipart upload nor list and abort stale ones, which resumable uploads and
`anclora cleanup` need.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import io
from typing import Any

CHECKSUMS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")
THREADS = 32  # concurrent S3 calls per process: 20 uploads with two parts in flight each, and downloads


class NoSuchKey(FileNotFoundError):
    pass


def part_entry(part: dict) -> dict:
    """What CompleteMultipartUpload needs of a part (an UploadPart answer or a ListParts item): its ETag, and the
    checksum S3 asks back when the upload declared an algorithm."""
    return {"ETag": part["ETag"], **{name: part[name] for name in CHECKSUMS if name in part}}


def is_missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404", "NotFound", "NoSuchUpload")


@functools.cache
def _session():
    """One boto3 session per process: a client made from it skips loading botocore's models again (0.2 s)."""
    import boto3

    return boto3.session.Session()


def make_client(endpoint_url: str = "", region: str = "us-east-1", access_key_id: str = "",
                secret_access_key: str = ""):
    """A boto3 S3 client (thread-safe); path-style addressing with a custom endpoint, as S3-compatible servers
    expect. Empty credentials: the AWS default chain."""
    from botocore.config import Config

    config = Config(max_pool_connections=THREADS, retries={"mode": "standard", "max_attempts": 5},
                    s3={"addressing_style": "path"} if endpoint_url else {})
    return _session().client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                             aws_access_key_id=access_key_id or None,
                             aws_secret_access_key=secret_access_key or None, config=config)


class S3Client:
    """Calls of one bucket, awaited from the event loop while a pool thread makes them."""

    def __init__(self, bucket: str, **client):
        self.bucket = bucket
        self.client = make_client(**client)
        self.pool = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="anclora-s3")

    def run(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` on the pool, as an awaitable."""
        return asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(function, *args, **kwargs))

    def checksum_args(self) -> dict:
        """The checksum a multipart upload declares at its creation, as boto3's `upload_file` does: CRC32 when
        botocore computes one per part (its default, `request_checksum_calculation = when_supported`). Without it
        the server makes a checksum of the whole object at completion (moto copies every byte once more for it);
        with it the server combines the parts' checksums."""
        if self.client.meta.config.request_checksum_calculation == "when_supported":
            return {"ChecksumAlgorithm": "CRC32"}
        return {}

    async def call(self, operation: str, **params: Any) -> dict:
        """One S3 operation on the bucket; a missing key raises NoSuchKey."""
        try:
            return await self.run(getattr(self.client, operation), Bucket=self.bucket, **params)
        except Exception as error:
            if is_missing(error):
                raise NoSuchKey(params.get("Key", "")) from None
            raise

    async def pages(self, operation: str, field: str, **params: Any) -> list[dict]:
        """Every item of a listing (`field` of each page), all pages."""
        def collect() -> list[dict]:
            paginator = self.client.get_paginator(operation)
            return [item for page in paginator.paginate(Bucket=self.bucket, **params) for item in page.get(field, [])]
        return await self.run(collect)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


class RangedObject(io.RawIOBase):
    """A stored object as a read-only, seekable file of ranged GETs (for `anclora.sniff` on a pool thread: its
    zip checks read the end of the file, then a few members, never the whole)."""

    def __init__(self, s3: S3Client, name: str):
        self.s3, self.name, self.position = s3, name, 0
        try:
            self.size = s3.client.head_object(Bucket=s3.bucket, Key=name)["ContentLength"]
        except Exception as error:
            if is_missing(error):
                raise NoSuchKey(name) from None
            raise

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.size or not len(buffer):
            return 0
        end = min(self.size, self.position + len(buffer)) - 1
        body = self.s3.client.get_object(Bucket=self.s3.bucket, Key=self.name,
                                         Range=f"bytes={self.position}-{end}")["Body"]
        data = body.read()
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)
