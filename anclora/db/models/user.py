"""Accounts: people and admins who sign in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, IdColumn, UTCDateTime, new_id, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    level: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[str] = mapped_column(String(32), default="free")
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    referred_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    streak_days: Mapped[int] = mapped_column(Integer, default=0)
    last_conversion_on: Mapped[dt.date | None] = mapped_column(Date)
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    webhook_secret_previous: Mapped[str | None] = mapped_column(String(64))  # signs too for a day after rotation
    webhook_secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signup_address: Mapped[str | None] = mapped_column(String(45))  # refuses self-referrals
    tokens_valid_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # older access tokens are void

    __table_args__ = (
        Index("idx_users_email", "email"),
        Index("idx_users_active", "is_active", postgresql_where=text("is_active = true"),
              sqlite_where=text("is_active = 1")),
        Index("idx_users_level", "level"),
    )
