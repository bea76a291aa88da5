"""The least an HTTP service that streams an upload into S3 multipart parts can do, as bench/s3_upload.py's floor.

    python bench/_s3_floor_server.py PORT ENDPOINT BUCKET [PART_MIB]

`POST /upload` receives the body with Tornado's `stream_request_body`, cuts it into parts of PART_MIB (8) held in
memory, and sends each with boto3's `upload_part` on a thread pool, at most two in flight (past that the request's
reading waits: Tornado's flow control), then completes the multipart upload and answers with the size. Like
`upload_file`, the multipart upload declares CRC32, botocore's default checksum of each part. Nothing
else: no sha256, no temporary file, no database, no record, no sniffing, no limits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import sys
import uuid

import boto3
import tornado.ioloop
import tornado.web
from botocore.config import Config

IN_FLIGHT = 2


@tornado.web.stream_request_body
class Upload(tornado.web.RequestHandler):
    def initialize(self, client, bucket: str, part_size: int, pool) -> None:
        self.client, self.bucket, self.part_size, self.pool = client, bucket, part_size, pool

    def prepare(self) -> None:
        self.key = f"floor/{uuid.uuid4().hex}"
        self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key,
                                                             ChecksumAlgorithm="CRC32")["UploadId"]
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.tasks: list[asyncio.Future] = []
        self.number = 0
        self.size = 0

    def send(self, body: bytes) -> None:
        self.number += 1
        call = functools.partial(self.client.upload_part, Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                 PartNumber=self.number, Body=body)
        self.tasks.append(asyncio.get_running_loop().run_in_executor(self.pool, call))

    async def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.buffered += len(chunk)
        self.size += len(chunk)
        if self.buffered >= self.part_size:
            data = b"".join(self.chunks)  # the one copy of the bytes (a chunk that spans two parts: two)
            for start in range(0, len(data) - self.part_size + 1, self.part_size):
                self.send(data[start:start + self.part_size] if len(data) > self.part_size else data)
            rest = data[len(data) - len(data) % self.part_size:]
            self.chunks, self.buffered = ([rest] if rest else []), len(rest)
        pending = [task for task in self.tasks if not task.done()]
        if len(pending) >= IN_FLIGHT:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)

    async def post(self) -> None:
        if self.buffered or not self.number:
            self.send(b"".join(self.chunks))
        answers = await asyncio.gather(*self.tasks)
        parts = [{"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]}
                 for number, answer in enumerate(answers, 1)]
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": parts})
        self.set_status(201)
        self.write(json.dumps({"size": self.size}))


class Ready(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok")


def main() -> None:
    port, endpoint, bucket = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    part_size = int(sys.argv[4] if len(sys.argv) > 4 else 8) * 1024 * 1024
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
    pool = concurrent.futures.ThreadPoolExecutor(IN_FLIGHT)
    options = {"client": client, "bucket": bucket, "part_size": part_size, "pool": pool}
    app = tornado.web.Application([("/upload", Upload, options), ("/", Ready)])
    app.listen(port, "127.0.0.1", max_body_size=1 << 40, chunk_size=256 * 1024, max_buffer_size=2 * 1024 * 1024)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
