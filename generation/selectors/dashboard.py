"""The dashboard's figures for the last 30 days: per day, personas, images, tasks and cost; the failure and
face-replacement rates; API latency per kind of call; the users who spent most. A staff user sees their own work,
a superuser everyone's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import User
from generation.costs import budgets as costs
from generation.models import ApiCall, DailyUsage, FaceCheck, GenerationTask

DAYS = 30
LATENCY_SAMPLE = 5_000


@dataclass(frozen=True)
class Series:
    title: str
    unit: str
    points: list[tuple[date, float]]

    @property
    def total(self) -> float:
        return sum(value for _, value in self.points)

    @property
    def peak(self) -> float:
        return max((value for _, value in self.points), default=0) or 1

    def bars(self, height: int = 80, step: int = 10) -> list[tuple[date, float, int, float, float]]:
        """(day, value, x, y, bar height) for the SVG chart: a 300 x 90 box, a bar per day, the peak `height` tall."""
        bars = []
        for n, (day, value) in enumerate(self.points):
            tall = round(height * value / self.peak, 1)
            bars.append((day, value, n * step + 1, round(height + 5 - tall, 1), tall))
        return bars


@dataclass(frozen=True)
class Latency:
    kind: str
    calls: int
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Dashboard:
    since: date
    series: list[Series]
    call_failure_rate: float | None
    task_failure_rate: float | None
    replacement_rate: float | None
    latencies: list[Latency]
    top_users: list[tuple[str, Decimal]]


def _days(since: date) -> list[date]:
    return [since + timedelta(days=n) for n in range(DAYS)]


def _fill(since: date, values: dict[date, float]) -> list[tuple[date, float]]:
    return [(day, float(values.get(day, 0) or 0)) for day in _days(since)]


def dashboard(user) -> Dashboard:
    """From the daily roll-up (generation_daily_usage: 30 rows a user), the tasks of the 30 days (their date
    index) and a sample of the latest calls; nothing here reads every call or every persona."""
    since_moment = (timezone.localtime() - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    since = since_moment.date()
    days = DailyUsage.objects.filter(day__gte=since)
    tasks = GenerationTask.objects.filter(created_at__gte=since_moment)
    calls = ApiCall.objects.filter(created_at__gte=since_moment)
    if not user.is_superuser:
        days, tasks, calls = days.filter(user_key=user.pk), tasks.filter(user=user), calls.filter(user=user)

    per_day = {
        row["day"]: row
        for row in days.values("day").annotate(
            tasks=Sum("tasks"), personas=Sum("personas"), images=Sum("images"), calls=Sum("calls"),
            failed=Sum("failed_calls"), cost=Sum("cost_usd"),
        )
    }  # fmt: skip

    def series(title: str, field: str, unit: str = "") -> Series:
        return Series(title, unit, _fill(since, {day: row[field] for day, row in per_day.items()}))

    all_calls = sum(row["calls"] or 0 for row in per_day.values())
    failed_calls = sum(row["failed"] or 0 for row in per_day.values())
    ended = tasks.filter(status__in=GenerationTask.FINISHED_STATUSES).aggregate(
        all=Count("id"), failed=Count("id", filter=Q(status__exact=GenerationTask.Status.FAILED))
    )
    spenders = days.values("user_key").annotate(spent=Sum("cost_usd")).filter(spent__gt=0).order_by("-spent")[:10]
    emails = dict(User.objects.filter(pk__in=[row["user_key"] for row in spenders]).values_list("pk", "email"))
    checked = FaceCheck.objects.filter(position__gt=0).exists()
    return Dashboard(
        since=since,
        series=[
            series("Personas", "personas"),
            series("Images", "images"),
            series("Tasks", "tasks"),
            series("Cost", "cost", "$"),
        ],  # fmt: skip
        call_failure_rate=failed_calls / all_calls if all_calls else None,
        task_failure_rate=ended["failed"] / ended["all"] if ended["all"] else None,
        replacement_rate=costs.replacement_rate() if checked else None,
        latencies=latencies(calls),
        top_users=[(emails.get(row["user_key"], "(no user)"), row["spent"]) for row in spenders],
    )


def latencies(calls) -> list[Latency]:
    """p50 and p95 of the latency per kind of call, over the latest LATENCY_SAMPLE calls of the 30 days (read
    backwards along the index on the date)."""
    found: dict[str, list[int]] = {}
    for kind, ms in calls.order_by("-created_at").values_list("kind", "latency_ms")[:LATENCY_SAMPLE]:
        found.setdefault(kind, []).append(ms)
    result = []
    for kind, values in sorted(found.items()):
        values.sort()
        result.append(Latency(ApiCall.Kind(kind).label, len(values), _at(values, 0.5), _at(values, 0.95)))
    return result


def _at(ordered: list[int], share: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])
