"""Columns shared by several tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["Timestamps"]


class Timestamps:
    """`created_at` / `updated_at`, always set by the code from its injected clock (no DB now())."""

    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
