"""Rewards granted to users, each once per source event."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, IdColumn, UTCDateTime, new_id, utcnow


class UserReward(Base):
    __tablename__ = "user_rewards"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reward_type: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    points: Mapped[int] = mapped_column(Integer, default=0)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("idx_user_rewards_user_id", "user_id"),
        Index("idx_user_rewards_type", "reward_type"),
        Index("idx_user_rewards_created", "created_at"),
        UniqueConstraint("user_id", "reward_type", "source", name="uq_user_rewards_once"),
    )
