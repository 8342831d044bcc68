"""What every part of the lifecycle shares: the status names, lease settings, row locks, and waiting out a
database that does not answer."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from accounts.models import User
from generation.models import GenerationTask, PipelineUnit

log = logging.getLogger("generation.pipeline")
Status = GenerationTask.Status
State = PipelineUnit.State
Kind = PipelineUnit.Kind
RUNNING_STATUSES = GenerationTask.RUNNING_STATUSES


class LeaseLost(Exception):
    """This worker no longer holds the unit: another worker took it over after the lease ran out."""


def lease_length() -> timedelta:
    return timedelta(seconds=settings.UNIT_LEASE_SECONDS)


def heartbeat_interval() -> float:
    """Three beats per lease: one lost beat (a slow query, a short database blip) does not lose the lease."""
    return settings.UNIT_LEASE_SECONDS / 3


def in_flight_window() -> int:
    """Units of one user queued or running at once: a cluster's workers, plus as many waiting, so that a worker
    that finishes finds its next unit in its cluster's own queue instead of waiting for the broker's next poll. Per
    user, not per task: the broker serves jobs in the order they came, so a user's unit waits behind at most the
    windows of the others, however many tasks they have."""
    return max(1, 2 * settings.Q_WORKERS)


def _locked_task(task_pk: int) -> GenerationTask | None:
    return GenerationTask.objects.select_for_update().filter(pk=task_pk).first()


def when_database_answers(step, *args, wait: float = 60.0):
    """Run a bookkeeping step, waiting out a database that is restarting or failing over: a unit's outcome is
    written once it is back, instead of the job dying with the outcome lost."""
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
    log.log(level, "task %s unit %s:%s try %s: " + message, unit.task.task_code, unit.kind, unit.number,
            unit.attempts, *args)  # fmt: skip


def lock_owner(user_pk: int) -> None:
    """Lock the owner's user row until the transaction ends, so that the owner's submits (the open-tasks and monthly
    caps) and the owner's workers (the dispatch window) are counted one at a time. Lock order: a task row first, then
    its owner's row, never the other way round; a submit locks the owner before any task row exists."""
    User.objects.select_for_update().filter(pk=user_pk).exists()


# --- Moving the task on -----------------------------------------------------------------------------------------
