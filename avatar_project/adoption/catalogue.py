"""What `inspect` found in the database: its tables, columns, indexes, constraints, row counts and
the users' data that adoption depends on."""

from __future__ import annotations

from dataclasses import dataclass, field

from avatar_project.adoption.columns import Column
from avatar_project.adoption.revisions import ALEMBIC_HEAD, CHAIN, KNOWN, expected_columns


@dataclass
class ActualColumn:
    type: str
    nullable: bool
    default: str | None


@dataclass
class ActualIndex:
    table: str
    columns: tuple[str, ...]
    unique: bool
    plain: bool  # no expression, no WHERE
    constraint: str | None  # 'p', 'u' or 'x' when a constraint owns the index


@dataclass
class Catalogue:
    """What `inspect` found. Row counts and data checks are filled only for tables and columns
    that exist."""

    vendor: str
    tables: set[str] = field(default_factory=set)
    alembic_versions: list[str] | None = None  # None: no alembic_version table
    applied: set[tuple[str, str]] = field(default_factory=set)  # django_migrations, if any
    columns: dict[str, dict[str, ActualColumn]] = field(default_factory=dict)
    indexes: dict[str, ActualIndex] = field(default_factory=dict)
    constraints: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name: (table, type, definition)
    null_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # settings, config, int_config: key: value
    users: list[tuple[int, str, bool]] = field(default_factory=list)  # (id, email, is_active)
    bare_bcrypt_hashes: int = 0
    other_hashes: int = 0

    @property
    def revision(self) -> str | None:
        """The known revision alembic_version names, if it names exactly one."""
        versions = self.alembic_versions or []
        return versions[0] if len(versions) == 1 and versions[0] in KNOWN else None

    @property
    def expected(self) -> dict[str, dict[str, Column]]:
        """The tables and columns of its revision (of the documented one when the revision is not known)."""
        return expected_columns(self.revision or ALEMBIC_HEAD)

    @property
    def already_adopted(self) -> bool:
        return set(CHAIN) <= self.applied
