"""Webhook deliveries (one row per message to send, retried until delivered or out of attempts) and their log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, IdColumn, Owned, UTCDateTime, new_id, utcnow


class WebhookDelivery(Owned, Base):
    __tablename__ = "webhook_deliveries"
    noun = "webhook delivery"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    owner_key: Mapped[str] = mapped_column(String(80))
    conversion_id: Mapped[str | None] = mapped_column(ForeignKey("conversions.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8), default="POST")
    content_type: Mapped[str] = mapped_column(String(255), default="application/json")
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # extra request headers
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    sign: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempts_allowed: Mapped[int] = mapped_column(Integer)  # the attempt count at which it gives up
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the process sending it, while its lease lasts
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("idx_webhook_deliveries_owner", "owner_key", "created_at"),
        Index("idx_webhook_deliveries_due", "status", "next_attempt_at"),
        # one delivery per conversion event, however many processes try to queue it (the hook, the recovery)
        UniqueConstraint("conversion_id", "event", name="uq_webhook_deliveries_conversion_event"),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("idx_webhook_attempts_delivery", "delivery_id", "number"),)
