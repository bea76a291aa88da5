"""The history of operations playbook runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, IdColumn, UTCDateTime, new_id, utcnow


class OpsRun(Base):
    __tablename__ = "ops_runs"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    playbook: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    rc: Mapped[int | None] = mapped_column(Integer)
    check_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    limit: Mapped[str | None] = mapped_column(String(255))
    extravars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("idx_ops_runs_created", "created_at"),)
