"""Conversion jobs: their state machine lives here, never only in memory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, Owned, IdColumn, UTCDateTime, new_id, utcnow


class Conversion(Owned, Base):
    noun = "conversion"
    __tablename__ = "conversions"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    from_format: Mapped[str] = mapped_column(String(32))
    to_format: Mapped[str] = mapped_column(String(32))
    converter: Mapped[str] = mapped_column(String(100))
    via: Mapped[list[Any]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result_file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    cost: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # sha256 of the request that created it: the same Idempotency-Key with another request is refused
    request_digest: Mapped[str | None] = mapped_column(String(64))
    owner_key: Mapped[str] = mapped_column(String(80))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    cache_key: Mapped[str | None] = mapped_column(String(64))  # None: the result is neither looked up nor kept
    cached: Mapped[bool] = mapped_column(Boolean, default=False)  # answered from the result cache
    queue_turn: Mapped[float] = mapped_column(Float, default=0.0)  # the fair-share claim order (jobs/fair_share.py)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Not a column: the File row of the result, on the row a process hands to its own watchers after storing that
    # result (or taking it from the cache), so that a synchronous caller does not read it back.
    result_file = None
    # Not a column: what the claim that started this attempt read of the input file (`jobs.store.Input`).
    claimed_input = None

    __table_args__ = (
        Index("idx_conversions_status", "status", "created_at"),
        Index("idx_conversions_owner", "owner_key", "created_at"),
        Index("idx_conversions_status_turn", "status", "queue_turn", "created_at"),
        UniqueConstraint("owner_key", "idempotency_key", name="uq_conversions_idempotency"),
    )

