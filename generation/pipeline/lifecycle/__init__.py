"""The one owner of the task lifecycle. Only this package writes a task's `status` or moves a unit from one state to
another; services, views, commands, the admin and the jobs call it. "How can a unit get back to pending?" is
answered here and nowhere else.

    task: pending → generating-data → generating-images → completed | failed | cancelled; an ended task runs again
          (a retry, an operator action), and each stretch of running is a TaskRun row
    unit: pending → queued → running → done | failed; back to pending when a try ends in a transient error, when
          its worker dies (its lease runs out and the sweep takes it back), or when an operator retries it.

Leases. A running unit is held under a lease of UNIT_LEASE_SECONDS, which a heartbeat thread renews while its
worker works, however long an API call takes. Every claim draws a new lease token, and a worker's writes are fenced
on its token: a worker that lost its lease (paused, cut off from the database past its lease) writes nothing over
the next holder's.

Attempts. `attempts` counts the times a worker took the unit, deaths included, and is never reset. A unit gives up
when its attempts reach its `attempt_limit`: UNIT_MAX_ATTEMPTS when planned, and UNIT_MAX_ATTEMPTS more at each
operator retry. The sweep grants no try: a worker's death is one."""

from __future__ import annotations

from generation.pipeline.lifecycle.actions import (
    ACTION_STAGES,
    delete_persona,
    delete_task,
    generate_missing,
    request_redo,
    results_missing_images,
    retry,
)
from generation.pipeline.lifecycle.common import (
    RUNNING_STATUSES,
    LeaseLost,
    heartbeat_interval,
    in_flight_window,
    lease_length,
    lock_owner,
    log,
    log_unit,
    when_database_answers,
)
from generation.pipeline.lifecycle.leases import Lease, claim, renew
from generation.pipeline.lifecycle.queue import (
    RUN_UNIT_JOB,
    START_JOB,
    SWEEP_INTERVAL,
    SWEEP_JOB,
    SWEEP_SCHEDULES,
    SWEEPS_MISSED,
    WORKER_SILENCE,
    _dispatch,
    dispatch,
    inline,
)
from generation.pipeline.lifecycle.sweep import SweepReport, ensure_sweep_schedules, is_stalled, live_lease, sweep
from generation.pipeline.lifecycle.tasks import advance, cancel, fail, running_and_cap, start, submit, task_notes
from generation.pipeline.lifecycle.units import (
    complete_unit,
    fail_unit,
    may_run,
    out_of_tries,
    prune,
    retry_unit_later,
    stop_for_budget,
    stop_for_fatal,
)

__all__ = [
    "ACTION_STAGES",
    "Lease",
    "LeaseLost",
    "RUNNING_STATUSES",
    "RUN_UNIT_JOB",
    "START_JOB",
    "SWEEPS_MISSED",
    "SWEEP_INTERVAL",
    "SWEEP_JOB",
    "SWEEP_SCHEDULES",
    "SweepReport",
    "WORKER_SILENCE",
    "_dispatch",
    "advance",
    "cancel",
    "claim",
    "complete_unit",
    "delete_persona",
    "delete_task",
    "dispatch",
    "ensure_sweep_schedules",
    "fail",
    "fail_unit",
    "generate_missing",
    "heartbeat_interval",
    "in_flight_window",
    "inline",
    "is_stalled",
    "lease_length",
    "live_lease",
    "lock_owner",
    "log",
    "log_unit",
    "may_run",
    "out_of_tries",
    "prune",
    "renew",
    "request_redo",
    "results_missing_images",
    "retry",
    "retry_unit_later",
    "running_and_cap",
    "start",
    "stop_for_budget",
    "stop_for_fatal",
    "submit",
    "sweep",
    "task_notes",
    "when_database_answers",
]
