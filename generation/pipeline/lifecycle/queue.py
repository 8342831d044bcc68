"""The django-q2 side: the job names, sending jobs (or running them inline under `generate --sync`), and
dispatching a task's pending units within its in-flight window."""

from __future__ import annotations

import contextvars
from datetime import timedelta
from itertools import zip_longest

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone
from django_q.tasks import async_task

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline.lifecycle.common import RUNNING_STATUSES, State, _locked_task, in_flight_window, lock_owner

# The django-q2 jobs, named once. The functions live in generation/jobs.py.
START_JOB = "generation.services.jobs.start_task"
RUN_UNIT_JOB = "generation.services.jobs.run_unit"
SWEEP_JOB = "generation.services.jobs.sweep"
# How often every live cluster sweeps. django-q2 repeats a schedule at most once a minute and looks for due ones
# on each of its scheduler's rounds: two one-minute schedules offset by SWEEP_INTERVAL make a sweep on every round.
SWEEP_INTERVAL = timedelta(seconds=30)
SWEEP_SCHEDULES = {
    "Sweep units of dead workers back to the queue (:00)": 0,
    "Sweep units of dead workers back to the queue (:30)": int(SWEEP_INTERVAL.total_seconds()),
}
# No sweep for this long means no worker is running, and the task page says so: SWEEPS_MISSED sweeps, so one
# late sweep is no alarm.
SWEEPS_MISSED = 3
WORKER_SILENCE = SWEEP_INTERVAL * SWEEPS_MISSED

# Set while `manage.py generate --sync` runs the pipeline in its own process: nothing is sent to the broker, the
# caller runs the queued units itself.
inline = contextvars.ContextVar("inline", default=False)


def _send(job: str, *args, name: str, group: str) -> None:
    """Send a job once the current transaction commits, so it never starts before its rows exist."""
    if inline.get():
        return
    transaction.on_commit(lambda: async_task(job, *args, task_name=name, group=group))


def _dispatch(task: GenerationTask) -> int:
    """Queue pending units of the task owner's running tasks, keeping at most a window of the owner's units queued
    or running. The owner's tasks take turns: one unit each, the task served least recently first. Called with the
    task row locked; the owner's row is locked too, so two of their workers finishing at once do not both fill the
    window. Under `generate --sync` only this task's units: its caller runs them, and nothing would run the
    others'."""
    if inline.get():
        room = in_flight_window() - task.units.filter(state__in=[State.QUEUED, State.RUNNING]).count()
        return _queue({task.pk: task.task_code}, _pending(task.pk, room))
    lock_owner(task.user_id)
    owned = PipelineUnit.objects.filter(task__user_id=task.user_id)
    room = in_flight_window() - owned.filter(state__in=[State.QUEUED, State.RUNNING]).count()
    if room <= 0:
        return 0
    waiting = PipelineUnit.objects.filter(task=OuterRef("pk"), state=State.PENDING)
    turns = (
        GenerationTask.objects.filter(user_id=task.user_id, status__in=RUNNING_STATUSES)
        .filter(Exists(waiting))
        .annotate(served=Max("units__queued_at"))
        .order_by(F("served").asc(nulls_first=True), "pk")
        .values_list("pk", "task_code")[:room]
    )
    codes = dict(turns)
    rounds = zip_longest(*[_pending(task_pk, room) for task_pk in codes])
    in_turn = [unit for round_ in rounds for unit in round_ if unit is not None]
    return _queue(codes, in_turn[:room])


def _pending(task_pk: int, limit: int) -> list[tuple[int, int]]:
    """The task's first pending units, (task, unit) each."""
    if limit <= 0:
        return []
    units = PipelineUnit.objects.filter(task_id=task_pk, state=State.PENDING).order_by("id")
    return list(units.values_list("task_id", "id")[:limit])


def _queue(codes: dict[int, str], units: list[tuple[int, int]]) -> int:
    """Move these pending units to queued and send their jobs, in this order (the broker's)."""
    queued = 0
    now = timezone.now()
    for task_pk, unit_pk in units:
        if PipelineUnit.objects.filter(pk=unit_pk, state=State.PENDING).update(
            state=State.QUEUED, queued_at=now, updated_at=now
        ):
            _send_unit(codes[task_pk], unit_pk)
            queued += 1
    return queued


def dispatch(task_pk: int) -> int:
    """Queue what the task's window has room for; how many units were queued."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        return _dispatch(task) if task is not None else 0


def _send_unit(task_code: str, unit_pk: int) -> None:
    _send(RUN_UNIT_JOB, unit_pk, name=f"{task_code}-unit-{unit_pk}", group=task_code)
