"""Stored files: uploads and conversion results, owned by a user or an anonymous session."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, Owned, IdColumn, UTCDateTime, new_id, utcnow


class File(Owned, Base):
    noun = "file"
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    origin: Mapped[str] = mapped_column(String(16), default="upload")
    conversion_status: Mapped[str] = mapped_column(String(16), default="none")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("idx_files_user_id", "user_id"),
        Index("idx_files_session_id", "session_id"),
        Index("idx_files_expires_at", "expires_at"),
        Index("idx_files_status", "conversion_status"),
    )
