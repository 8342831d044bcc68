"""Units of work and their bookkeeping: claimed under a lease, attempts counted by us (a killed
worker's job is handed out again by the broker, which does not count it), and queued a few at a
time per task so that one big task cannot starve the others."""

from __future__ import annotations

import contextvars
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from generation.models import GenerationTask, PipelineUnit

log = logging.getLogger("generation.pipeline")
State = PipelineUnit.State

# Set while `manage.py generate --sync` runs the pipeline in its own process: nothing is sent
# to the broker, the caller runs the queued units itself.
inline = contextvars.ContextVar("inline", default=False)


def lease() -> timedelta:
    """A unit's hold on its worker: the job timeout, after which django-q2 has killed the job."""
    return timedelta(seconds=settings.Q_TIMEOUT)


def in_flight_window() -> int:
    """Units of one task queued or running at once: a cluster's workers, plus as many waiting. The waiting ones
    are already in the cluster's own queue when a worker finishes, so it starts the next unit at once instead of
    after the broker's next poll (bench/pipeline.py measured that poll at ~0.3 s per unit with the window at
    Q_WORKERS)."""
    return max(1, 2 * settings.Q_WORKERS)


def enqueue_after_commit(function: str, *args, name: str, group: str) -> None:
    """Send a job once the current transaction commits, so it never starts before its rows exist."""
    if inline.get():
        return
    transaction.on_commit(lambda: async_task(function, *args, task_name=name, group=group))


def dispatch(task: GenerationTask) -> int:
    """Queue the task's next pending units, keeping at most a window of them queued or running.
    Call it with the task row locked, so two finishing workers do not both fill the window."""
    room = in_flight_window() - task.units.filter(state__in=[State.QUEUED, State.RUNNING]).count()
    if room <= 0:
        return 0
    queued = 0
    now = timezone.now()
    for unit_id in task.units.filter(state=State.PENDING).order_by("id").values_list("id", flat=True)[:room]:
        if PipelineUnit.objects.filter(pk=unit_id, state=State.PENDING).update(
            state=State.QUEUED, queued_at=now, updated_at=now
        ):
            enqueue_after_commit(
                "generation.jobs.run_unit", unit_id, name=f"{task.task_id}-unit-{unit_id}", group=task.task_id
            )
            queued += 1
    return queued


def claim(unit_id: int) -> PipelineUnit | None:
    """Take a unit for this worker: one that waits, or one whose previous holder's lease ran out
    (that worker died). Counts the attempt. None when someone else holds it or it is finished."""
    now = timezone.now()
    claimable = Q(state__in=[State.PENDING, State.QUEUED]) | Q(state=State.RUNNING, lease_until__lt=now)
    taken = PipelineUnit.objects.filter(claimable, pk=unit_id).update(
        state=State.RUNNING, attempts=F("attempts") + 1, lease_until=now + lease(), updated_at=now
    )
    if not taken:
        return None
    return PipelineUnit.objects.select_related("task", "result").get(pk=unit_id)


def finish(unit: PipelineUnit, state: str, note: str = "") -> None:
    unit.state, unit.note, unit.lease_until = state, note, None
    unit.save(update_fields=["state", "note", "lease_until", "updated_at"])


def release(unit: PipelineUnit, note: str) -> None:
    """Hand a unit back to be tried again (its attempt stays counted)."""
    unit.state, unit.note, unit.lease_until = State.PENDING, note, None
    unit.save(update_fields=["state", "note", "lease_until", "updated_at"])


def reopen_stuck(task: GenerationTask, older_than: timedelta) -> int:
    """Units whose worker died (lease ran out) or whose job was lost from the broker (queued for
    too long) go back to pending; their next run counts as a new attempt."""
    now = timezone.now()
    stuck = Q(state=State.RUNNING, lease_until__lt=now) | Q(state=State.QUEUED, queued_at__lt=now - older_than)
    return task.units.filter(stuck).update(state=State.PENDING, lease_until=None, updated_at=now)


def when_database_answers(step, *args, wait: float = 60.0):
    """Run a bookkeeping step, waiting out a database that is restarting or failing over: the
    unit's outcome is written once it is back, instead of the job dying with the unit held."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return step(*args)
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() > deadline:
                raise
            log.warning("database unavailable (%s); trying again", type(error).__name__)
            connection.close()
            time.sleep(1)


def log_unit(unit: PipelineUnit, message: str, *args, level: int = logging.INFO) -> None:
    log.log(level, "task %s unit %s:%s try %s: " + message, unit.task.task_id, unit.kind, unit.number,
            unit.attempts, *args)  # fmt: skip
