"""Stalls and the sweep: units whose worker died go back to the queue, lost jobs are sent again, and the sweep's
schedules are kept in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.models import Schedule

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline.lifecycle.common import RUNNING_STATUSES, State, Status, lease_length, log
from generation.pipeline.lifecycle.queue import SWEEP_JOB, SWEEP_SCHEDULES, _send_unit
from generation.pipeline.lifecycle.tasks import advance, start

# --- Stalls, the sweep and retries ------------------------------------------------------------------------------


def live_lease(now: datetime) -> Q:
    """A unit a worker is at: running under a lease that has not run out."""
    return Q(state=State.RUNNING, lease_until__gte=now)


def is_stalled(task: GenerationTask, *, leased_units: int | None = None) -> bool:
    """Running, no unit has ended for STALL_MINUTES, and no worker holds a live lease on any of its units (a unit
    in a long API call keeps its lease, and its task is slow, not stalled). `leased_units`: how many units are
    under a live_lease(), when the caller has counted them (none: one query)."""
    limit = timezone.now() - timedelta(minutes=settings.STALL_MINUTES)
    if task.status not in RUNNING_STATUSES or task.updated_at >= limit:
        return False
    if leased_units is None:
        return not task.units.filter(live_lease(timezone.now())).exists()
    return not leased_units


@dataclass(frozen=True)
class SweepReport:
    expired: int  # running units whose lease ran out, back to pending
    resent: int  # queued units whose job was lost, sent again
    started: int  # pending tasks whose start job was lost, started

    @property
    def total(self) -> int:
        return self.expired + self.resent + self.started


def _reclaim(units, now) -> tuple[int, set[int]]:
    """Expired leases back to pending; the tasks they belong to."""
    expired = units.filter(state=State.RUNNING, lease_until__lt=now)
    # A stopped task's units do not go back in line: nothing would run them.
    expired.filter(task__status__in=GenerationTask.FINISHED_STATUSES).update(
        state=State.FAILED, lease_until=None, ended_at=now, updated_at=now,
        note="not run again: the worker stopped mid-run and the task was stopped",
    )  # fmt: skip
    task_pks = set(expired.values_list("task", flat=True))
    count = expired.update(state=State.PENDING, lease_until=None, updated_at=now,
                           note="the worker stopped mid-run (its lease ran out)")  # fmt: skip
    return count, task_pks


def _resend_lost(units, now) -> tuple[int, set[int]]:
    """Queued units no worker has taken for a lease's length: their job may have gone with a dead cluster (one that
    had fetched it but not started it). A second job is sent; whichever comes first runs the unit, the other finds
    it taken and does nothing. Each unit is sent again at most once per lease's length."""
    resent, task_pks = 0, set()
    lost = units.filter(state=State.QUEUED, queued_at__lt=now - lease_length()).select_related("task")
    for unit in lost:
        if PipelineUnit.objects.filter(pk=unit.pk, state=State.QUEUED, queued_at=unit.queued_at).update(queued_at=now):
            _send_unit(unit.task.task_code, unit.pk)
            resent += 1
            task_pks.add(unit.task.pk)
    return resent, task_pks


def sweep() -> SweepReport:
    """Every 30 s (a django-q2 schedule), and safe to run anywhere at any time: units of dead workers go back to the
    queue, lost jobs are sent again, stages whose last unit's worker died before moving the task on are moved on,
    and pending tasks whose start job was lost are started, as many as max_concurrent_tasks lets."""
    now = timezone.now()
    with transaction.atomic():
        expired, reclaimed_tasks = _reclaim(PipelineUnit.objects.all(), now)
        resent, resent_tasks = _resend_lost(PipelineUnit.objects.all(), now)
    quiet = GenerationTask.objects.filter(status__in=RUNNING_STATUSES, updated_at__lt=now - lease_length())
    for task_pk in reclaimed_tasks | resent_tasks | set(quiet.values_list("pk", flat=True)):
        advance(task_pk, progress=False)
    # Pending for a while: its start job was lost, or it waits for a place under max_concurrent_tasks.
    pending = GenerationTask.objects.filter(status=Status.PENDING, created_at__lt=now - 2 * lease_length())
    started = sum(start(task_pk) for task_pk in pending.order_by("id").values_list("pk", flat=True))
    report = SweepReport(expired, resent, started)
    if report.total:
        log.warning("sweep: %s lease(s) ran out, %s lost job(s) sent again, %s task(s) started", expired, resent,
                    started)  # fmt: skip
    return report


def ensure_sweep_schedules() -> int:
    """Create the sweep's schedules where they are missing (deleted in the admin, or a database restored without
    them); a cluster does this as it starts. Returns how many were created."""
    created = 0
    now = timezone.now()
    for name, offset in SWEEP_SCHEDULES.items():
        _, made = Schedule.objects.get_or_create(
            name=name,
            defaults={"func": SWEEP_JOB, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1,
                      "next_run": now + timedelta(seconds=offset)},
        )  # fmt: skip
        created += made
    return created
