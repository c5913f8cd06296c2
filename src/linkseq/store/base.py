"""The declarative base, the naming convention and the column types every table shares.

Times are stored as aware UTC datetimes. SQLite has no time zone type, so `UTCDateTime` converts
on the way in and re-attaches UTC on the way out: code above the store only ever sees aware UTC.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "UTCDateTime", "str_enum"]

# Stable constraint names, so migrations can drop and alter them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite stores text; without the offset, ordering and comparison stay lexical-correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, the stored text straight to an aware datetime in one step (the hot path of
        every planning read: SQLAlchemy's own parse and then `process_result_value` cost twice
        as much); elsewhere, the driver's datetime through `process_result_value`."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_utc


# SQLite's stored texts already parsed: a plan reads the same few hundred due times at every
# replanning, and a dict lookup costs a twentieth of a parse (datetimes are immutable, so one
# object serves every reader). Bounded: emptied when full.
_PARSED: dict[str, datetime] = {}
_PARSED_MAX = 65_536


def _sqlite_utc(value: Any) -> datetime | None:
    """SQLite's stored text (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = _PARSED.get(value)
        if parsed is None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            parsed = _PARSED[value] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return parsed
    moment: datetime = value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> sa.Enum:
    """A string enum stored as VARCHAR (no native type, no CHECK): adding a value needs no DDL."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Base class of every linkseq table."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
    }
