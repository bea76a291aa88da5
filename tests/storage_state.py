"""What a test sees of storage on either backend: stored keys, what unfinished writes left, and the bytes of an
object changed behind the server's back (as a failing disk or a careless operator would)."""

from __future__ import annotations


async def stored_keys(ctx) -> list[str]:
    return sorted(await ctx.storage.inventory())


async def multipart_uploads(ctx) -> list[str]:
    """The keys of the bucket's multipart uploads in progress (none on the local folder)."""
    if ctx.storage.name != "s3":
        return []
    uploads = await ctx.storage.s3.pages("list_multipart_uploads", "Uploads")
    return [upload["Key"] for upload in uploads]


async def leftovers(ctx) -> list[str]:
    """Temporary files of writes in progress, and multipart uploads on S3."""
    return sorted(path.name for path in ctx.storage.tmp_dir.iterdir()) + await multipart_uploads(ctx)


async def nothing_left(ctx) -> bool:
    return not await leftovers(ctx)


async def remove_object(ctx, key: str) -> None:
    if ctx.storage.name == "s3":
        ctx.storage.s3.client.delete_object(Bucket=ctx.storage.s3.bucket, Key=ctx.storage.object_name(key))
    else:
        ctx.storage.path(key).unlink()


async def overwrite_object(ctx, key: str, data: bytes) -> None:
    if ctx.storage.name == "s3":
        ctx.storage.s3.client.put_object(Bucket=ctx.storage.s3.bucket, Key=ctx.storage.object_name(key), Body=data)
    else:
        ctx.storage.path(key).write_bytes(data)


def bytes_received(ctx) -> float:
    """Upload bytes the server has taken in so far (its `anclora_upload_bytes_total` metric)."""
    return ctx.metrics.upload_bytes._value.get()


async def held(ctx, upload_id: str) -> int | None:
    """The bytes storage holds for a resumable upload in progress; None when it holds nothing of it."""
    if ctx.storage.name != "s3":
        part = ctx.storage.part_path(upload_id)
        return part.stat().st_size if part.exists() else None
    storage = ctx.storage
    pieces = await storage.s3.pages("list_objects_v2", "Contents", Prefix=f"{storage.prefix}resumable/{upload_id}.")
    uploads = [upload for upload in await storage.s3.pages("list_multipart_uploads", "Uploads")
               if upload["Key"] == storage.object_name(storage.part_key(upload_id))]
    if not pieces and not uploads:
        return None
    parts = [part for upload in uploads for part in await storage.s3.pages(
        "list_parts", "Parts", Key=upload["Key"], UploadId=upload["UploadId"])]
    return sum(piece["Size"] for piece in pieces if piece["Key"].endswith(".incomplete")) + \
        sum(part["Size"] for part in parts)
