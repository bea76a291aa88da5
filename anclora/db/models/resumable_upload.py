"""Resumable (tus) uploads in progress: how long each will be, how much has arrived, whose it is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, Owned, IdColumn, UTCDateTime, new_id, utcnow


class ResumableUpload(Owned, Base):
    noun = "upload"
    __tablename__ = "resumable_uploads"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    owner_key: Mapped[str] = mapped_column(String(80))
    # an anonymous creator's session token, encrypted under the server's secret: the upload URL is a capability,
    # and its answers name the session the upload (and its file) belongs to
    sealed_session: Mapped[str | None] = mapped_column(String(160))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_metadata: Mapped[dict] = mapped_column(JSON, default=dict)  # tus Upload-Metadata, decoded
    lock_token: Mapped[str | None] = mapped_column(String(32))  # the PATCH writing to it, while it holds the lock
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # its lock lasts until then, unless renewed
    file_id: Mapped[str | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("idx_resumable_uploads_owner_key", "owner_key"),
        Index("idx_resumable_uploads_expires_at", "expires_at"),
    )
