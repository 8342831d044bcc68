"""What the operator asks for (`Options`) and what adoption does about it: the `Plan` of `Step`s,
and how it ended (`Outcome`, or `AlreadyAdopted` when there was nothing to do)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Options:
    staff_emails: list[str] = field(default_factory=list)
    superuser_emails: list[str] = field(default_factory=list)
    all_staff: bool = False
    lock_timeout: float = 10.0


@dataclass(frozen=True)
class Step:
    why: str
    sql: str


@dataclass
class Plan:
    schema: list[Step]
    data: list[Step]
    record: list[tuple[str, str]]  # chain migrations to record as applied at once
    # ... and those to record each once `migrate` has applied the migrations it depends on
    record_later: list[tuple[str, str]]
    migrate: list[str]  # "app.name" of the migrations `migrate` then applies
    grants: list[Step]  # after `migrate`, which adds is_staff and is_superuser
    notes: list[str]  # what stays as it is, and why
    counts: dict[str, int]
    values: dict[str, dict[str, str]]  # settings, config, int_config before: key: value as text
    staff: list[str]  # emails that end up staff (superusers included)
    superusers: list[str]


@dataclass
class Outcome:
    plan: Plan
    counts_after: dict[str, int]
    staff: list[str]
    superusers: list[str]


@dataclass
class AlreadyAdopted:
    pending: list[str]
