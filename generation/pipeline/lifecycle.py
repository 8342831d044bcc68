"""The one owner of the task lifecycle. Only this module writes a task's `status` or moves a unit from one state to
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

import contextvars
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import zip_longest

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import User
from generation import storage, usage
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit, TaskBudget, TaskRun
from generation.pipeline import face_checks
from generation.provenance import records

log = logging.getLogger("generation.pipeline")
Status = GenerationTask.Status
State = PipelineUnit.State
Kind = PipelineUnit.Kind
RUNNING_STATUSES = GenerationTask.RUNNING_STATUSES

# The django-q2 jobs, named once. The functions live in generation/jobs.py.
START_JOB = "generation.jobs.start_task"
RUN_UNIT_JOB = "generation.jobs.run_unit"
SWEEP_JOB = "generation.jobs.sweep"
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


def _send(job: str, *args, name: str, group: str) -> None:
    """Send a job once the current transaction commits, so it never starts before its rows exist."""
    if inline.get():
        return
    transaction.on_commit(lambda: async_task(job, *args, task_name=name, group=group))


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


# --- Submitting and starting a task ---------------------------------------------------------------------------


def submit(*, user: User, values: dict, cap_usd: Decimal | None, estimate_usd: Decimal) -> GenerationTask:
    """Create a pending task (values and caps already checked) with its cap (None: no cap) and estimate, and queue
    its start once the rows are committed."""
    with transaction.atomic():
        task = GenerationTask.objects.create(user=user, **values)
        TaskBudget.objects.create(task=task, cap_usd=cap_usd, estimate_usd=estimate_usd)
        usage.add(user.pk, tasks=1)
        _send(START_JOB, task.pk, name=f"{task.task_code}-start", group=task.task_code)
    return task


def _batch_sizes(total: int, per_batch: int) -> list[int]:
    return [min(per_batch, total - start) for start in range(0, total, per_batch)]


def start(task_pk: int) -> None:
    """Plan the batches and start the data stage. Running it again changes nothing."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.status != Status.PENDING:
            return
        sizes = _batch_sizes(task.number_to_generate, settings.PERSONAS_PER_BATCH)
        _plan(task, Kind.BATCH, [(number, size, None) for number, size in enumerate(sizes, 1)])
        task.update_status(Status.GENERATING_DATA)
        _open_run(task)
        _dispatch(task)
    log.info("task %s: planned %s batch(es) for %s personas", task.task_code, len(sizes), task.number_to_generate)


def _plan(task: GenerationTask, kind: str, units: list[tuple[int, int, int | None]]) -> None:
    """Create units (number, size, result id) that do not exist yet; planning twice plans once."""
    PipelineUnit.objects.bulk_create(
        [
            PipelineUnit(task=task, kind=kind, number=number, size=size, result_id=result_pk)
            for number, size, result_pk in units
        ],
        ignore_conflicts=True,
    )


def lock_owner(user_pk: int) -> None:
    """Lock the owner's user row until the transaction ends, so that the owner's submits (the open-tasks and monthly
    caps) and the owner's workers (the dispatch window) are counted one at a time. Lock order: a task row first, then
    its owner's row, never the other way round; a submit locks the owner before any task row exists."""
    User.objects.select_for_update().filter(pk=user_pk).exists()


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


# --- One unit's run: claim, heartbeat, outcome ----------------------------------------------------------------


def claim(unit_pk: int) -> PipelineUnit | None:
    """Take a unit for this worker under a new lease: one that waits, or one whose holder's lease ran out (that
    worker died). Counts the attempt. None when someone else holds it or it has ended: a job delivered twice, or
    late, runs nothing."""
    now = timezone.now()
    claimable = Q(state__in=[State.PENDING, State.QUEUED]) | Q(state=State.RUNNING, lease_until__lt=now)
    taken = PipelineUnit.objects.filter(claimable, pk=unit_pk).update(
        state=State.RUNNING,
        attempts=F("attempts") + 1,
        lease_token=F("lease_token") + 1,
        lease_until=now + lease_length(),
        updated_at=now,
    )
    if not taken:
        return None
    return PipelineUnit.objects.select_related("task", "result").get(pk=unit_pk)


def _held(unit: PipelineUnit):
    """The unit's row as long as this worker's lease holds it."""
    return PipelineUnit.objects.filter(pk=unit.pk, state=State.RUNNING, lease_token=unit.lease_token)


def renew(unit: PipelineUnit) -> bool:
    """Move the lease's end on; False once the lease is no longer this worker's."""
    return _held(unit).update(lease_until=timezone.now() + lease_length()) == 1


class Lease:
    """A worker's hold on its unit while it runs: a heartbeat thread renews it, and `check()` tells the pipeline,
    before each write, whether it still holds it. Use as `with Lease(unit) as lease:`."""

    def __init__(self, unit: PipelineUnit):
        self.unit = unit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{unit.pk}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # not joined: a beat blocked on a slow database must not hold up the outcome

    def _beat(self) -> None:
        try:
            while not self._stop.wait(heartbeat_interval()):
                try:
                    if not renew(self.unit):
                        log_unit(self.unit, "lease lost to another worker", level=logging.WARNING)
                        return
                except DatabaseError as error:  # tried again at the next beat; two misses in a row still hold
                    log_unit(self.unit, "heartbeat failed (%s)", type(error).__name__, level=logging.WARNING)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def check(self) -> None:
        """Raise LeaseLost unless this worker still holds the unit."""
        if not _held(self.unit).exists():
            raise LeaseLost(f"unit {self.unit.pk} was taken over")

    def lock(self) -> None:
        """Inside a transaction: lock the unit's row while it is still ours, so no claim takes it over before the
        transaction's writes are committed. Raise LeaseLost when it is no longer ours."""
        if not _held(self.unit).select_for_update().exists():
            raise LeaseLost(f"unit {self.unit.pk} was taken over")


def may_run(unit: PipelineUnit) -> bool:
    """After a claim: False (and the unit ended) when the task has stopped or the unit used up its tries."""
    if unit.task.status not in RUNNING_STATUSES:
        _end_unit(unit, State.FAILED, f"not run: the task is {unit.task.status}")
        return False
    if unit.attempts > unit.attempt_limit:
        last = unit.note or "the worker stopped mid-run (killed, or out of time)"
        _end_unit(unit, State.FAILED, f"gave up after {unit.attempt_limit} tries; last: {last}")
        log_unit(unit, "gave up", level=logging.WARNING)
        when_database_answers(advance, unit.task.pk)
        return False
    return True


def out_of_tries(unit: PipelineUnit) -> bool:
    return unit.attempts >= unit.attempt_limit


def _end_unit(unit: PipelineUnit, state: str, note: str, *, error_code: str = "", images: list[str] | None = None,
              base_url: str | None = None) -> bool:  # fmt: skip
    """Write a unit's outcome, fenced on its lease; with `images` (and `base_url`), the persona's image URLs in the
    same transaction. False, and nothing written, when the lease is no longer this worker's."""
    now = timezone.now()
    ended = state in (State.DONE, State.FAILED)
    with transaction.atomic():
        written = _held(unit).update(
            state=state,
            note=note,
            error_code=error_code,
            lease_until=None,
            ended_at=now if ended else None,
            updated_at=now,
        )
        if written and images is not None:
            urls = {"images": images} | ({"base_image_url": base_url} if base_url else {})
            GenerationResult.objects.filter(pk=unit.result_id).update(**urls)
            made = 1 if unit.kind == Kind.IMAGE else len(images)
            usage.add(unit.task.user_id, personas=1 if unit.kind == Kind.IMAGES else 0, images=made)
    if not written:
        log_unit(unit, "lease lost before its outcome (%s) was written; the next holder's stands", state,
                 level=logging.WARNING)  # fmt: skip
        return False
    unit.state, unit.note, unit.error_code = state, note, error_code
    return True


def complete_unit(unit: PipelineUnit, note: str = "", *, images: list[str] | None = None,
                  base_url: str | None = None) -> None:  # fmt: skip
    if when_database_answers(lambda: _end_unit(unit, State.DONE, note, images=images, base_url=base_url)):
        log_unit(unit, "done%s", f" ({note})" if note else "")
        if unit.kind in (Kind.PHOTOS, Kind.IMAGE):
            prune(unit)
    when_database_answers(advance, unit.task.pk)


def prune(unit: PipelineUnit) -> None:
    """After a redo unit ended: delete the persona's files and checks its row no longer points to (the ones the new
    files replaced, or those a failed redo left). A storage error is logged; the next redo or delete prunes again."""
    result = GenerationResult.objects.filter(pk=unit.result_id).first()
    if result is None:
        return
    urls = {url for url in [result.base_image_url, *(result.images or [])] if url}
    FaceCheck.objects.filter(result=result).exclude(image_url__in=urls).delete()
    keys = {storage.key_from_url(url) for url in urls}
    records.forget_all_but(result.pk, keys)
    try:
        pruned = storage.prune_result(unit.task.task_code, result.pk, keys)
    except Exception as error:  # the outcome is written; the files wait for the next prune
        log_unit(unit, "could not delete replaced files: %s", error, level=logging.WARNING)
        return
    log_unit(unit, "deleted %s replaced file(s)", pruned)


def retry_unit_later(unit: PipelineUnit, reason: str) -> None:
    """Hand the unit back to be tried again (the attempt stays counted); a unit of a task stopped meanwhile ends."""
    stopped = GenerationTask.objects.filter(pk=unit.task.pk, status__in=GenerationTask.FINISHED_STATUSES).exists()
    if stopped:
        when_database_answers(_end_unit, unit, State.FAILED, f"not run again: the task was stopped; last: {reason}")
    else:
        when_database_answers(_end_unit, unit, State.PENDING, reason)
    when_database_answers(advance, unit.task.pk)


def fail_unit(unit: PipelineUnit, reason: str, *, error_code: str = "") -> None:
    """This unit failed for good; the task goes on with the others, unless the same rejection keeps coming."""
    ended = when_database_answers(lambda: _end_unit(unit, State.FAILED, reason, error_code=error_code))
    if ended and unit.kind in (Kind.PHOTOS, Kind.IMAGE):
        prune(unit)
    if ended and error_code:
        repeated = _same_rejection_in_a_row(unit.task, error_code)
        if repeated:
            fail(unit.task.pk, (
                f"Stopped: the API rejected {repeated} units in a row with the same error ({error_code}): {reason} "
                "This is most likely a setting (OPENAI_IMAGE_MODEL, OPENAI_IMAGE_SIZE, OPENAI_IMAGE_QUALITY, "
                "OPENAI_OUTPUT_FORMAT, OPENAI_TEXT_MODEL) or the description itself, not one persona."
            ))  # fmt: skip
            return
    when_database_answers(advance, unit.task.pk)


def _same_rejection_in_a_row(task: GenerationTask, error_code: str) -> int:
    """How many units in a row ended rejected with this code, if that reached STOP_AFTER_SAME_REJECTION; else 0."""
    limit = settings.STOP_AFTER_SAME_REJECTION
    if limit <= 0:
        return 0
    ended = task.units.filter(ended_at__isnull=False).order_by("-ended_at", "-id")
    recent = list(ended.values_list("state", "error_code")[:limit])
    if len(recent) == limit and all(row == (State.FAILED, error_code) for row in recent):
        return limit
    return 0


def stop_for_fatal(unit: PipelineUnit, message: str) -> None:
    """An error that every further call would meet (a rejected key, no quota): this unit fails and the task stops."""
    when_database_answers(_end_unit, unit, State.FAILED, message)
    fail(unit.task.pk, message)


def stop_for_budget(unit: PipelineUnit, message: str) -> None:
    """A cap is reached: this unit and the waiting ones are not run; the task ends completed with what it has, or
    failed when no persona got its images."""
    when_database_answers(_end_unit, unit, State.FAILED, message)
    fail(unit.task.pk, message, keep_what_it_has=True)


# --- Moving the task on -----------------------------------------------------------------------------------------


def advance(task_pk: int, *, progress: bool = True) -> None:
    """After a unit ends: queue more units, or move the task to its next stage, exactly once (under the task row
    lock, whichever worker ends the stage's last unit). `progress` marks the task as having moved on (what
    `is_stalled` watches); the sweep advances without it."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.status not in RUNNING_STATUSES:
            return
        data_stage = task.status == Status.GENERATING_DATA
        stage_kinds = PipelineUnit.DATA_KINDS if data_stage else PipelineUnit.IMAGE_KINDS
        if task.units.filter(kind__in=stage_kinds, state__in=PipelineUnit.OPEN_STATES).exists():
            if progress:
                task.save(update_fields=["updated_at"])
            _dispatch(task)
            return
        if data_stage:
            _start_images_stage(task)
        elif not _redo_duplicate_faces(task):
            _end(task)


def _start_images_stage(task: GenerationTask) -> None:
    result_pks = list(task.results.values_list("id", flat=True))
    if not result_pks:
        _finish(task, False, "No usable persona came out.\n" + task_notes(task))
        log.warning("task %s: failed, no usable persona", task.task_code)
        return
    _plan(task, Kind.IMAGES, [(pk, 0, pk) for pk in result_pks])
    task.update_status(Status.GENERATING_IMAGES)
    if not task.units.filter(kind__in=PipelineUnit.IMAGE_KINDS, state__in=PipelineUnit.OPEN_STATES).exists():
        # Every persona has its images already (new bios of a persona of a finished task): nothing to wait for.
        _end(task)
        return
    _dispatch(task)
    log.info("task %s: %s persona(s) saved, images stage started", task.task_code, len(result_pks))


def _redo_duplicate_faces(task: GenerationTask) -> int:
    """At the end of the images stage: the later persona of each pair whose bases show one face gets new photos,
    once (a persona already given new photos for this is left as it is). Returns how many were queued."""
    if not face_checks.enabled():
        return 0
    queued = 0
    for _, later, distance in face_checks.duplicate_pairs(task):
        redone = task.units.filter(kind=Kind.PHOTOS, result_id=later).exists()
        busy = task.units.filter(kind__in=PipelineUnit.IMAGE_KINDS, result_id=later, state__in=PipelineUnit.OPEN_STATES)
        if redone or busy.exists():
            continue
        number = (task.units.filter(kind=Kind.PHOTOS).aggregate(top=Max("number"))["top"] or 0) + 1
        PipelineUnit.objects.create(task=task, kind=Kind.PHOTOS, number=number, result_id=later,
                                    note=f"its base showed another persona's face ({distance:.2f} apart)")  # fmt: skip
        queued += 1
    if queued:
        _dispatch(task)
        log.warning("task %s: %s persona(s) shared a face; new photos queued", task.task_code, queued)
    return queued


def _end(task: GenerationTask) -> None:
    done = task.results.filter(images__isnull=False).count()
    notes = task_notes(task)
    if done == 0:
        _finish(task, False, ("No persona got its images.\n" + notes).strip())
        log.warning("task %s: failed, no persona got its images", task.task_code)
    else:
        _finish(task, True, notes or None)
        log.info("task %s: completed, %s persona(s) with images", task.task_code, done)


def task_notes(task: GenerationTask) -> str:
    """What went wrong or was mended: one line per batch that fell short, persona whose images failed, or persona
    whose photos the face checks replaced."""
    lines = []
    units = task.units.exclude(note="").filter(state__in=[State.DONE, State.FAILED]).select_related("result")
    for unit in units:
        if unit.kind != Kind.BATCH and unit.result:
            who = f"{unit.result.firstname} {unit.result.lastname} (result {unit.result_id})"
            done = "failed" if unit.state == State.FAILED else ("face checks" if unit.kind == Kind.IMAGES else "done")
            lines.append(f"{unit.get_kind_display().lower()} of {who} {done}: {unit.note}")
        elif unit.kind == Kind.BATCH:
            lines.append(unit.note if unit.note.startswith("batch") else f"batch {unit.number} failed: {unit.note}")
    return "\n".join(lines)


def _finish(task: GenerationTask, success: bool, message: str | None) -> None:
    """End the task completed or failed. Its notes are written anew (None clears them), so a retry that ends clean
    leaves no earlier failure on show; its current run ends."""
    task.mark_completed(success, message)
    if not message and task.error_log:
        task.error_log = None
        task.save(update_fields=["error_log", "updated_at"])
    _close_run(task)


def _open_run(task: GenerationTask) -> None:
    if not task.runs.filter(ended_at__isnull=True).exists():
        TaskRun.objects.create(task=task, started_at=timezone.now())


def _close_run(task: GenerationTask) -> None:
    task.runs.filter(ended_at__isnull=True).update(ended_at=task.completed_at or timezone.now())


def fail(task_pk: int, message: str, *, status: str = Status.FAILED, keep_what_it_has: bool = False) -> None:
    """Stop the task at once (an error every call would meet, or a cancel): its waiting units are not run. Units
    running now finish their current call; their outcome no longer moves the task."""
    with transaction.atomic():
        task = _locked_task(task_pk)
        if task is None or task.is_finished:
            return
        task.units.filter(state__in=[State.PENDING, State.QUEUED]).update(
            state=State.FAILED, note="not run: the task was stopped", ended_at=timezone.now(), updated_at=timezone.now()
        )
        if keep_what_it_has and task.results.filter(images__isnull=False).exists():
            _finish(task, True, message)
            log.warning("task %s: stopped with what it has: %s", task.task_code, message)
            return
        task.mark_completed(False, message)
        if status != task.status:
            task.update_status(status)
        _close_run(task)
    log.error("task %s: stopped: %s", task.task_code, message)


def cancel(task: GenerationTask, *, by: User) -> None:
    """Stop scheduling the task's units; it ends `cancelled`, with who cancelled it. Finished personas stay."""
    if task.is_finished:
        raise ValidationError(f"Task {task.task_code} has already ended.")
    fail(task.pk, f"Cancelled by {by.email}.", status=Status.CANCELLED)


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
    and tasks whose start job was lost are started."""
    now = timezone.now()
    with transaction.atomic():
        expired, reclaimed_tasks = _reclaim(PipelineUnit.objects.all(), now)
        resent, resent_tasks = _resend_lost(PipelineUnit.objects.all(), now)
    quiet = GenerationTask.objects.filter(status__in=RUNNING_STATUSES, updated_at__lt=now - lease_length())
    for task_pk in reclaimed_tasks | resent_tasks | set(quiet.values_list("pk", flat=True)):
        advance(task_pk, progress=False)
    lost_starts = list(
        GenerationTask.objects.filter(status=Status.PENDING, created_at__lt=now - 2 * lease_length()).values_list(
            "pk", flat=True
        )
    )
    for task_pk in lost_starts:
        start(task_pk)
    report = SweepReport(expired, resent, len(lost_starts))
    if report.total:
        log.warning("sweep: %s lease(s) ran out, %s lost job(s) sent again, %s task(s) started", expired, resent,
                    len(lost_starts))  # fmt: skip
    return report


def ensure_sweep_schedules() -> int:
    """Create the sweep's schedules where they are missing (deleted in the admin, or a database restored without
    them); a cluster does this as it starts. Returns how many were created."""
    from django_q.models import Schedule

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


def retry(task: GenerationTask, *, by: User | None = None) -> int:
    """Resume a failed, stalled or partly failed task from what is saved: only units that did not finish run again,
    so paid calls that succeeded are not repeated. Each reopened unit gets UNIT_MAX_ATTEMPTS more tries. Units a
    live worker still holds are left to it. Returns how many units were put back in line."""
    with transaction.atomic():
        task = _locked_task(task.pk)
        if task.status == Status.PENDING:
            _send(START_JOB, task.pk, name=f"{task.task_code}-start", group=task.task_code)
            return 0
        if task.status in RUNNING_STATUSES and not is_stalled(task):
            raise ValidationError(
                f"Task {task.task_code} is still running; it can be retried once it has failed or made no progress "
                f"for {settings.STALL_MINUTES} minutes."
            )
        now = timezone.now()
        expired = _reopen(task.units.filter(state=State.RUNNING, lease_until__lt=now), now)
        _resend_lost(task.units.all(), now)
        task.units.filter(state=State.QUEUED).update(attempt_limit=F("attempts") + settings.UNIT_MAX_ATTEMPTS)
        short_batches = [
            unit.pk
            for unit in task.units.filter(kind=Kind.BATCH, state=State.DONE).exclude(note="")
            if task.results.filter(batch_number=unit.number).count() < unit.size
        ]
        reopened = expired + _reopen(task.units.filter(Q(state=State.FAILED) | Q(pk__in=short_batches)), now)
        if task.units.filter(kind__in=PipelineUnit.DATA_KINDS, state=State.PENDING).exists():
            stage = Status.GENERATING_DATA
        else:
            missing = results_missing_images(task)
            _plan(task, Kind.IMAGES, [(pk, 0, pk) for pk in missing])
            reopened += _reopen(task.units.filter(kind=Kind.IMAGES, result_id__in=missing, state=State.DONE), now)
            stage = Status.GENERATING_IMAGES
        if not task.units.filter(state__in=PipelineUnit.OPEN_STATES).exists():
            raise ValidationError(f"Task {task.task_code} has nothing left to retry.")
        who = f" by {by.email}" if by else ""
        # The earlier failure stays readable, marked as past, so a task that now completes does not show it as
        # its current state.
        earlier = f" The run before said:\n{task.error_log}" if task.error_log else ""
        task.error_log = f"Retried{who} at {now:%Y-%m-%d %H:%M} UTC.{earlier}"
        task.completed_at = None
        task.save(update_fields=["completed_at", "error_log", "updated_at"])
        task.update_status(stage)
        _open_run(task)
        _dispatch(task)
    log.info("task %s: retried%s, %s unit(s) queued again", task.task_code, who, reopened)
    return reopened


def _reopen(units, now) -> int:
    """Back to pending with UNIT_MAX_ATTEMPTS more tries (an operator's retry)."""
    return units.update(
        state=State.PENDING,
        attempt_limit=F("attempts") + settings.UNIT_MAX_ATTEMPTS,
        note="",
        error_code="",
        lease_until=None,
        ended_at=None,
        updated_at=now,
    )


def results_missing_images(task: GenerationTask) -> list[int]:
    expected = task.images_per_persona
    return [
        pk
        for pk, images in GenerationResult.objects.filter(task=task).values_list("pk", "images")
        if not isinstance(images, list) or len(images) != expected
    ]


# --- Operator actions on a persona, or a task that came out short ----------------------------------------------

ACTION_STAGES = {Kind.PHOTOS: Status.GENERATING_IMAGES, Kind.IMAGE: Status.GENERATING_IMAGES,
                 Kind.BIOS: Status.GENERATING_DATA}  # fmt: skip


def _may_take_action(task: GenerationTask, stage: str) -> None:
    """An action runs on a task that has ended, or joins one running in the action's own stage."""
    if task.status == Status.PENDING or (task.status in RUNNING_STATUSES and task.status != stage):
        raise ValidationError(
            f"Task {task.task_code} is {task.get_status_display().lower()}; try again once it has ended."
        )


def _run_again(task: GenerationTask, stage: str) -> None:
    """The task runs again in `stage`: its status moves there and it counts as not ended."""
    if task.status != stage:
        # Its notes are written anew from every unit when it ends again.
        task.completed_at, task.error_log = None, None
        task.save(update_fields=["completed_at", "error_log", "updated_at"])
        task.update_status(stage)
        _open_run(task)
    _dispatch(task)


def request_redo(result: GenerationResult, kind: str, *, position: int | None = None) -> PipelineUnit:
    """Queue new photos, one new photo (`position`) or new bios of a persona, as a unit. Asking again while the
    same request waits or runs returns that unit: it runs once."""
    stage = ACTION_STAGES[kind]
    with transaction.atomic():
        task = _locked_task(result.task_id)
        _may_take_action(task, stage)
        if kind == Kind.IMAGE and not 1 <= (position or 0) <= len(result.images or []):
            raise ValidationError(f"{result.full_name} has no image {position}.")
        same = task.units.filter(kind=kind, result=result, target=position, state__in=PipelineUnit.OPEN_STATES)
        unit = same.first()
        kinds = PipelineUnit.IMAGE_KINDS if kind in PipelineUnit.IMAGE_KINDS else (kind,)
        if unit is None and task.units.filter(kind__in=kinds, result=result, state__in=PipelineUnit.OPEN_STATES):
            # Two image units of one persona would each write back the list they read, and prune the other's files.
            raise ValidationError(f"New photos of {result.full_name} are being made; try again once they are done.")
        if kind == Kind.IMAGE and not (
            storage.key_from_url(result.base_image_url) and storage.key_from_url(result.images[position - 1])
        ):
            raise ValidationError(f"{result.full_name} has no stored base or photo {position} to make it from.")
        if unit is None:
            number = (task.units.filter(kind=kind).aggregate(top=Max("number"))["top"] or 0) + 1
            unit = PipelineUnit.objects.create(task=task, kind=kind, number=number, result=result, target=position)
        _run_again(task, stage)
    log.info("task %s: %s asked for %s", task.task_code, unit.get_kind_display().lower(), result.full_name)
    return unit


def generate_missing(task: GenerationTask) -> int:
    """A task that ended short makes what is missing: the personas it never got, in new batches, and the photos of
    personas left without them. Returns how many personas it works on (0 when nothing was missing)."""
    with transaction.atomic():
        task = _locked_task(task.pk)
        missing = task.number_to_generate - task.results.count()
        without_images = results_missing_images(task)
        stage = Status.GENERATING_DATA if missing > 0 else Status.GENERATING_IMAGES
        _may_take_action(task, stage)
        if missing <= 0 and not without_images:
            return 0
        if task.units.filter(kind=Kind.BATCH, state__in=PipelineUnit.OPEN_STATES).exists():
            return 0
        if missing > 0:
            first = (task.units.filter(kind=Kind.BATCH).aggregate(top=Max("number"))["top"] or 0) + 1
            sizes = _batch_sizes(missing, settings.PERSONAS_PER_BATCH)
            _plan(task, Kind.BATCH, [(number, size, None) for number, size in enumerate(sizes, first)])
        if without_images:
            _plan(task, Kind.IMAGES, [(pk, 0, pk) for pk in without_images])
            ended = task.units.filter(
                kind=Kind.IMAGES, result_id__in=without_images, state__in=[State.DONE, State.FAILED]
            )
            _reopen(ended, timezone.now())
        _run_again(task, stage)
    log.info(
        "task %s: making %s missing persona(s), photos for %s", task.task_code, max(missing, 0), len(without_images)
    )
    return max(missing, 0) + len(without_images)


def delete_persona(result: GenerationResult) -> int:
    """Delete one persona with its files (its units and checks go with it). Returns how many files were removed."""
    with transaction.atomic():
        task = _locked_task(result.task_id)
        if task.status in RUNNING_STATUSES or task.status == Status.PENDING:
            raise ValidationError(f"Task {task.task_code} is still running; delete personas once it has ended.")
        GenerationResult.objects.filter(pk=result.pk).delete()
        task.save(update_fields=["updated_at"])
    removed = storage.delete_tree(storage.result_prefix(task.task_code, result.pk))
    log.info("task %s: persona %s deleted with %s file(s)", task.task_code, result.pk, removed)
    return removed
