"""The declarative base, its naming convention, and the column types every model shares."""

from __future__ import annotations

import datetime as dt
import uuid

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import ColumnElement, DateTime, ForeignKey, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from ..identity import Identity

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, as the API promises."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


IdColumn = String(36)


class Owned:
    """The owner columns of a row that belongs to a user or to an anonymous session (files, conversions, resumable
    uploads), and the condition that selects a caller's rows."""

    noun: ClassVar[str] = "row"  # what a NotFound calls it
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(64))

    @classmethod
    def owned_by(cls, identity: "Identity") -> ColumnElement[bool]:
        """The caller's rows. `identity` may hold bound parameters instead of values (a statement built once)."""
        if "owner_key" in cls.__table__.c:  # one indexed column naming either owner ("user:…" or "session:…")
            return cls.owner_key == identity.owner_key
        if identity.user_id is not None:  # (signed in: `Identity.is_anonymous` is false)
            return cls.user_id == identity.user_id
        return cls.user_id.is_(None) & (cls.session_id == identity.session_id)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
