"""One Alembic revision of the original app, as adoption needs to know it: what it adds to the tables (as Django's
migrations leave them) and the Django migration that reproduces it."""

from __future__ import annotations

from dataclasses import dataclass, field

from avatar_project.adoption.columns import Column


@dataclass(frozen=True)
class Revision:
    id: str
    name: str
    migration: tuple[str, str]
    columns: dict[str, dict[str, Column]] = field(default_factory=dict)  # table: the columns it adds
    unique_constraints: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
