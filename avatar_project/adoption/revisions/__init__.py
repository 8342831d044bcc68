"""The original app's Alembic revisions that adoption knows, oldest first, and what the tables look like at each.

- `documented`: d59663db64e2, the revision the schema document describes: its five tables as Django's chain of
  seven migrations makes them, and that chain.
- `later`: the six revisions after it, to fbc78f685fa2, the original's last: each with what it adds and the Django
  migration that reproduces it (`revision.Revision`).

A database at any of them is adopted: the migrations up to its revision are recorded as applied, and `migrate`
applies the rest.
"""

from __future__ import annotations

from avatar_project.adoption.columns import Column
from avatar_project.adoption.revisions import documented
from avatar_project.adoption.revisions.documented import ALEMBIC_HEAD, CHAIN
from avatar_project.adoption.revisions.later import LATER, MOVED

KNOWN = [ALEMBIC_HEAD, *(revision.id for revision in LATER)]
FINAL = KNOWN[-1]
# Every table some known revision has, in the order their rows are counted and reported.
TABLES = [
    *documented.TABLES,
    *(table for revision in LATER for table in revision.columns if table not in documented.TABLES),
]


def _upto(revision: str) -> list:
    """The later revisions up to `revision` (none for the documented one)."""
    return LATER[: KNOWN.index(revision)]


def expected_columns(revision: str) -> dict[str, dict[str, Column]]:
    """Every table at `revision` and its columns, as Django's migrations up to it leave them."""
    tables = {table: dict(columns) for table, columns in documented.EXPECTED_COLUMNS.items()}
    for later in _upto(revision):
        for table, columns in later.columns.items():
            tables.setdefault(table, {}).update(columns)
    return tables


def unique_constraints(revision: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    constraints = dict(documented.UNIQUE_CONSTRAINTS)
    for later in _upto(revision):
        constraints |= later.unique_constraints
    return constraints


def migrations(revision: str) -> list[tuple[str, str]]:
    """The Django migrations that reproduce the chain up to `revision`, in order."""
    return [*CHAIN, *(later.migration for later in _upto(revision))]


def added_by(table: str, column: str) -> str | None:
    """The later revision that adds `table.column`, if one does."""
    return next((later.id for later in LATER if column in later.columns.get(table, {})), None)


__all__ = [
    "ALEMBIC_HEAD",
    "CHAIN",
    "FINAL",
    "KNOWN",
    "MOVED",
    "TABLES",
    "added_by",
    "expected_columns",
    "migrations",
    "unique_constraints",
]
