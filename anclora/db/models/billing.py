"""Money and credits: conversion transactions, the credits ledger, purchases and Stripe events seen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, IdColumn, UTCDateTime, new_id, utcnow


class ConversionTransaction(Base):
    __tablename__ = "conversion_transactions"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign key: the charge is written while the conversion is authorised, before its row may exist.
    conversion_id: Mapped[str | None] = mapped_column(IdColumn)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    free: Mapped[bool] = mapped_column(default=False)
    payment_status: Mapped[str] = mapped_column(String(16), default="pending")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("idx_transactions_user_id", "user_id"),
        Index("idx_transactions_status", "payment_status"),
        Index("idx_transactions_created", "created_at"),
        UniqueConstraint("conversion_id", name="uq_conversion_transactions_conversion_id"),
    )


class CreditEntry(Base):
    """One movement of credits; a balance is the sum of a user's entries. (reason, source) is unique."""

    __tablename__ = "credit_entries"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("idx_credit_entries_user", "user_id"),
        UniqueConstraint("reason", "source", name="uq_credit_entries_reason_source"),
    )


class Purchase(Base):
    """A credit pack bought through a Stripe Checkout Session."""

    __tablename__ = "purchases"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pack: Mapped[str] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(8), default="eur")
    status: Mapped[str] = mapped_column(String(16), default="open")
    payment_intent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("idx_purchases_user", "user_id"), Index("idx_purchases_payment_intent", "payment_intent"))


class StripeEvent(Base):
    """A Stripe event applied; written in the same transaction as its effect."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
