"""Stored files: uploads and conversion results, owned by a user or an anonymous session."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, Owned, IdColumn, UTCDateTime, new_id, utcnow


HIDDEN = "cache"  # the origin of a result kept only for the result cache: no listing, download or delete shows it


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
    cache_key: Mapped[str | None] = mapped_column(String(64))  # a conversion result the result cache may reuse
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    @classmethod
    def owned_by(cls, identity, hidden: bool = False):
        """The caller's files; `hidden` ones too (results a one-shot conversion kept only for the result cache)."""
        owned = super().owned_by(identity)
        return owned if hidden else owned & (cls.origin != HIDDEN)

    __table_args__ = (
        Index("idx_files_user_id", "user_id"),
        Index("idx_files_session_id", "session_id"),
        Index("idx_files_expires_at", "expires_at"),
        Index("idx_files_status", "conversion_status"),
        Index("idx_files_cache_key", "cache_key"),
    )
