"""Enum-typed columns stored as the enum's text in a TEXT column.

SQLAlchemy's own `Enum` type stores the same text but in a VARCHAR, which would be a schema change for columns
that have always been TEXT (most with a CHECK constraint listing their values); this type keeps the column TEXT
and converts at the boundary, so models hold enum members and the database holds what it always held.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=enum.StrEnum)


class EnumText(TypeDecorator[E]):
    """A TEXT column read as `enum_type` members; writes accept members or their text (checked)."""

    impl = Text
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        # a plain string is accepted when it names a member: a wrong value fails here, not in the database
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)

    @property
    def python_type(self) -> type[E]:
        return self.enum_type
