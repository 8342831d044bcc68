"""How adoption describes a column, in the words of PostgreSQL's catalogue, and the type changes
it may make to one without losing anything."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A column as Django's chain leaves it, in the words of PostgreSQL's catalogue: `type` as
    format_type() prints it, `default` as pg_get_expr() prints it (which is also valid SQL)."""

    type: str
    nullable: bool = False
    default: str | None = None
    primary_key: bool = False


TS = "timestamp with time zone"
NOW = "statement_timestamp()"  # what Django's Now() compiles to


def varchar(length: int) -> str:
    return f"character varying({length})"


ID = Column("integer", primary_key=True)


def conversion(column: str, actual: str, expected: str) -> str | None:
    """The `TYPE ...` clause that converts `actual` to `expected` without losing anything, or None
    when there is no such conversion."""
    if actual == "timestamp without time zone" and expected == TS:
        # The Flask app's times are naive UTC. (Rows stamped by the now() server defaults hold the
        # database server's local time, which is the same thing on a server kept in UTC.)
        return f"TYPE {expected} USING {column} AT TIME ZONE 'UTC'"
    if actual == "json" and expected == "jsonb":
        return f"TYPE {expected} USING {column}::jsonb"
    length = re.fullmatch(r"character varying\((\d+)\)", actual)
    wanted = re.fullmatch(r"character varying\((\d+)\)", expected)
    if length and wanted and int(length[1]) < int(wanted[1]):
        return f"TYPE {expected}"
    if actual.startswith("character varying") and expected == "text":
        return f"TYPE {expected}"
    return None
