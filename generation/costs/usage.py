"""The daily roll-up the dashboard reads (generation_daily_usage): one upsert that adds to a user's day, written
where the thing happens (a task submitted, a persona's photos stored, a call recorded)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

COUNTS = ("tasks", "personas", "images", "calls", "failed_calls", "cost_usd")


def add(user_pk: int | None, *, day: date | None = None, **amounts: int | Decimal) -> None:
    """Add `amounts` (of COUNTS) to the user's day, creating the row the first time: INSERT … ON CONFLICT, which
    PostgreSQL and SQLite both speak, so concurrent workers add without losing one another's counts."""
    unknown = set(amounts) - set(COUNTS)
    if unknown:
        raise ValueError(f"not a daily count: {sorted(unknown)}")
    values = {name: amounts.get(name, 0) for name in COUNTS}
    columns = ", ".join(COUNTS)
    placeholders = ", ".join(["%s"] * len(COUNTS))
    increments = ", ".join(f"{name} = generation_daily_usage.{name} + excluded.{name}" for name in COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO generation_daily_usage (day, user_key, {columns}) VALUES (%s, %s, {placeholders}) "
            f"ON CONFLICT (day, user_key) DO UPDATE SET {increments}",
            [
                day or timezone.localdate(),
                user_pk or 0,
                *[str(v) if isinstance(v, Decimal) else v for v in values.values()],
            ],
        )
