"""What the task page shows while a task runs and after: its steps with their counts, whether a worker is about,
how long it actually ran, and what went wrong in plain words. A handful of queries whatever the task's size, since
the page polls it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_q.models import Task as QueueTask

from generation.faces import checks as face_checks
from generation.models import GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.selectors.explain import OUTCOMES_ONLY, UNKNOWN, Explanation, explain
from generation.selectors.faces import face_state_counts, with_photos

Status = GenerationTask.Status
State = PipelineUnit.State
Kind = PipelineUnit.Kind


@dataclass(frozen=True)
class Step:
    name: str
    state: str  # done, active, waiting, short, failed, off
    detail: str


@dataclass(frozen=True)
class Problem:
    cause: str
    next_step: str
    count: int
    detail: str  # the technical text, for the collapsed part


@dataclass(frozen=True)
class TaskState:
    """Everything the live part of the task page shows, read together."""

    task: GenerationTask
    asked: int
    with_data: int
    with_base: int
    with_images: int
    checked: int
    verified: int
    flagged: int
    not_checked: int
    failed_units: int
    open_units: int
    leased_units: int  # running units under a live lease: a worker is at them
    face_checks_on: bool
    seconds_running: float
    runs: int
    worker_seen: datetime | None
    stalled: bool
    genders: dict[str, int]
    faces: str
    problems: list[Problem] = field(default_factory=list)
    waiting: str = ""  # why a pending task has not started: the running tasks fill max_concurrent_tasks

    @property
    def finished(self) -> bool:
        return self.task.is_finished

    @property
    def missing(self) -> int:
        """Personas asked for that have no photos (or do not exist)."""
        return max(0, self.asked - self.with_images)

    @property
    def short(self) -> bool:
        return is_short(self.task, self.with_images)

    @property
    def headline(self) -> str:
        return headline(self.task, self.with_images)

    @property
    def worker_state(self) -> str:
        """'seen' when a worker swept lately, 'silent' when none has for lifecycle.WORKER_SILENCE, 'never' when none
        ever did."""
        if self.worker_seen is None:
            return "never"
        return "seen" if timezone.now() - self.worker_seen < lifecycle.WORKER_SILENCE else "silent"

    @property
    def no_worker(self) -> bool:
        """Nothing will move this task: it waits for a worker, or runs with none of its units under a live lease,
        and no cluster has swept for lifecycle.WORKER_SILENCE. A dead worker's units keep their leases until they
        run out (UNIT_LEASE_SECONDS), so the banner waits for the later of the two."""
        if self.worker_state == "seen":
            return False
        if self.task.status == Status.PENDING:
            return True
        return self.task.status in lifecycle.RUNNING_STATUSES and not self.leased_units

    @property
    def seconds_since_progress(self) -> int:
        return max(0, int((timezone.now() - self.task.updated_at).total_seconds()))

    @property
    def last_progress(self) -> str:
        seconds = self.seconds_since_progress
        if seconds < 90:
            return f"{seconds} s ago"
        if seconds < 5400:
            return f"{round(seconds / 60)} min ago"
        return f"{round(seconds / 3600)} h ago"

    @property
    def minutes_since_progress(self) -> int:
        return self.seconds_since_progress // 60

    @property
    def duration(self) -> str:
        return format_seconds(self.seconds_running)

    @property
    def percent(self) -> int:
        return progress_percent(self.asked, self.with_data, self.with_images)

    @property
    def steps(self) -> list[Step]:
        status = self.task.status
        started = status != Status.PENDING
        in_images = status == Status.GENERATING_IMAGES or self.finished
        people = self.with_data

        if started:
            queued = Step("Queued", "done", "Picked up by a worker")
        elif self.waiting:
            queued = Step("Queued", "active", self.waiting)
        elif self.worker_state == "seen":
            queued = Step("Queued", "active", "Waiting for a worker to pick it up")
        else:
            queued = Step("Queued", "failed", "No worker is running")

        def stage(name: str, done: int, of: int, active: bool, reached: bool) -> Step:
            if not reached:
                return Step(name, "waiting", f"0 of {of}" if of else "—")
            if done >= of and of:
                return Step(name, "done", f"{done} of {of}")
            if active:
                return Step(name, "active", f"{done} of {of}")
            # A stage behind the task that came out short.
            return Step(name, "failed" if self.finished else "short", f"{done} of {of}")

        steps = [
            queued,
            stage("Personas", people, self.asked, status == Status.GENERATING_DATA, started),
            stage("Selfies", self.with_base, people, status == Status.GENERATING_IMAGES, in_images),
            stage("Photos", self.with_images, people, status == Status.GENERATING_IMAGES, in_images),
        ]
        if self.face_checks_on or self.checked:
            checks = stage("Face checks", self.checked, self.with_images, status == Status.GENERATING_IMAGES, in_images)
            if checks.state == "done":
                notes = [f"{self.flagged} need a look"] if self.flagged else []
                notes += [f"{self.not_checked} not checked"] if self.not_checked else []
                # Every check ran, yet none could pass a persona (no frontal face): a warning, not a green step.
                checks = Step(checks.name, "done" if self.verified or self.flagged else "short",
                              "; ".join([checks.detail, *notes]))  # fmt: skip
            steps.append(checks)
        else:
            steps.append(Step("Face checks", "off", "Off"))
        if status == Status.COMPLETED:
            steps.append(Step("Done", "done" if not self.short else "failed", self.headline))
        elif status == Status.FAILED:
            steps.append(Step("Done", "failed", "Failed"))
        elif status == Status.CANCELLED:
            steps.append(Step("Done", "off", "Cancelled"))
        else:
            steps.append(Step("Done", "waiting", "—"))
        return steps


def progress_percent(asked: int, with_data: int, with_images: int) -> int:
    """How far a task has come, for the tab title and the bars: the personas' data is the first fifth of the work."""
    if not asked:
        return 100
    return min(100, round(100 * (0.2 * with_data + 0.8 * with_images) / asked))


def is_short(task: GenerationTask, with_images: int) -> bool:
    """Completed, but with fewer personas with photos than asked for."""
    return task.status == Status.COMPLETED and with_images < task.number_to_generate


def headline(task: GenerationTask, with_images: int) -> str:
    """The status as people read it: "Completed — 145 of 150" for a task that came out short."""
    if is_short(task, with_images):
        return f"Completed — {with_images} of {task.number_to_generate}"
    return task.get_status_display()


def format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def seconds_running(task: GenerationTask) -> tuple[float, int]:
    """The time the task spent running, summed over its runs (a failed task waiting for its retry is not running),
    and how many runs it had. A task from before runs were recorded counts from creation to its end."""
    now = timezone.now()
    runs = list(task.runs.values_list("started_at", "ended_at"))
    if not runs:
        if task.status == Status.PENDING:
            return 0.0, 0
        return max(0.0, ((task.completed_at or now) - task.created_at).total_seconds()), 1
    return sum(max(0.0, ((end or now) - start).total_seconds()) for start, end in runs), len(runs)


def worker_last_seen() -> datetime | None:
    """When a worker last ran the sweep (every cluster runs it, see lifecycle.SWEEP_SCHEDULES), from django-q2's own
    record."""
    return (
        QueueTask.objects.filter(func=lifecycle.SWEEP_JOB)
        .order_by("-stopped")
        .values_list("stopped", flat=True)
        .first()
    )


def waiting_reason(task: GenerationTask) -> str:
    """Why a pending task waits, when the tasks running fill the cap; empty otherwise."""
    if task.status != Status.PENDING:
        return ""
    running, cap = lifecycle.running_and_cap()
    if running < cap:
        return ""
    tasks = "1 task is" if running == 1 else f"{running} tasks are"
    return f"Waiting: {tasks} running and the cap is {cap} (Admin › Integer settings)"


def task_state(task: GenerationTask) -> TaskState:
    results = task.results.aggregate(
        with_data=Count("id"),
        with_base=Count("id", filter=Q(base_image_url__isnull=False) & ~Q(base_image_url="")),
        with_images=Count("id", filter=Q(images__isnull=False)),
        women=Count("id", filter=Q(gender="f")),
        men=Count("id", filter=Q(gender="m")),
    )
    now = timezone.now()
    units = {
        state: (n, leased)
        for state, n, leased in task.units.order_by()
        .values_list("state")
        .annotate(n=Count("id"), leased=Count("id", filter=lifecycle.live_lease(now)))
    }
    failed_units = units.get(State.FAILED, (0, 0))[0]
    leased_units = sum(leased for _, leased in units.values())
    checks = face_totals(task)
    running, runs = seconds_running(task)
    return TaskState(
        task=task,
        asked=task.number_to_generate,
        with_data=results["with_data"],
        with_base=results["with_base"],
        with_images=results["with_images"],
        checked=checks["checked"],
        verified=checks["verified"],
        flagged=checks["flagged"],
        not_checked=checks["not_checked"],
        failed_units=failed_units,
        open_units=sum(units.get(state, (0, 0))[0] for state in PipelineUnit.OPEN_STATES),
        leased_units=leased_units,
        face_checks_on=face_checks.enabled(),
        seconds_running=running,
        runs=runs,
        worker_seen=worker_last_seen(),
        stalled=lifecycle.is_stalled(task, leased_units=leased_units),
        genders={"Women": results["women"], "Men": results["men"]},
        faces=face_summary(task, checks),
        problems=task_problems(task, failed_units),
        waiting=waiting_reason(task),
    )


WHAT_FAILED = {
    Kind.BATCH: ("a group of personas", "groups of personas"),
    Kind.PERSONA_IMAGES: ("the photos of a persona", "the photos of {n} personas"),
    Kind.ALL_PHOTOS_AGAIN: ("new photos of a persona", "new photos of {n} personas"),
    Kind.ONE_PHOTO_AGAIN: ("one new photo", "{n} new photos"),
    Kind.BIOS: ("new bios of a persona", "new bios of {n} personas"),
}


def task_problems(task: GenerationTask, failed_units: int | None = None) -> list[Problem]:
    """What went wrong, grouped by plain cause, most frequent first; empty when the outcome is clean. Counted from
    the units that failed and are still failed (a retry that mended them clears them), and from the task's own
    stop message when it failed or was cancelled. `failed_units`: how many there are, when the caller knows (none:
    no query)."""
    failed = []
    if failed_units != 0:
        units = task.units.filter(state=State.FAILED).order_by().values_list("kind", "note").annotate(n=Count("id"))
        failed = list(units[:200])
    grouped: dict[Explanation, Counter] = {}
    details: dict[Explanation, list[str]] = {}
    for kind, note, count in failed:
        explanation = explain(note or "")
        grouped.setdefault(explanation, Counter())[kind] += count
        details.setdefault(explanation, []).append(f"{count}× {note}" if note else f"{count}× (no detail)")
    problems = []
    stopped = task.status in (Status.FAILED, Status.CANCELLED) and task.error_log
    if stopped:
        head = task.error_log.splitlines()[0] if task.error_log else ""
        explanation = explain(head)
        if explanation in OUTCOMES_ONLY:
            # "No usable persona came out" says what, not why: the failed units' most frequent known cause does.
            known = {cause: sum(kinds.values()) for cause, kinds in grouped.items() if cause is not UNKNOWN}
            explanation = max(known, key=known.get, default=explanation)
        problems.append(Problem(explanation.cause, explanation.next_step, 0, task.error_log))
        grouped.pop(explanation, None)
    for explanation, kinds in sorted(grouped.items(), key=lambda item: -sum(item[1].values())):
        affected = ", ".join(_affected(kind, n) for kind, n in kinds.most_common())
        problems.append(
            Problem(
                f"{explanation.cause} Affected: {affected}.",
                explanation.next_step,
                sum(kinds.values()),
                "\n".join(details[explanation]),
            )
        )
    return problems


def _affected(kind: str, n: int) -> str:
    one, many = WHAT_FAILED.get(kind, ("one step", "{n} steps"))
    return one if n == 1 else many.format(n=n) if "{n}" in many else f"{n} {many}"


def face_totals(task: GenerationTask) -> dict[str, int]:
    """Of the personas with photos: how many were looked at, verified, flagged and not checked; and how many of
    their tiles were replaced. One query."""
    return face_state_counts(with_photos(task.results.all()))


def face_summary(task: GenerationTask, totals: dict[str, int] | None = None) -> str:
    """One line on the face checks, e.g. "37 of 40 personas verified; 1 not checked; 6 tiles replaced; 2 need a
    look". "Not checked" leads when nothing was verified or flagged: no check ran, or none found a face."""
    totals = totals or face_totals(task)
    personas, verified, flagged = totals["personas"], totals["verified"], totals["flagged"]
    if not totals["checked"]:
        return "Not checked"
    if not verified and not flagged:
        return f"Not checked: no face verified in {personas} persona{pluralize(personas)}"
    parts = [f"{verified} of {personas} personas verified"]
    if totals["not_checked"]:
        parts.append(f"{totals['not_checked']} not checked")
    parts.append(f"{totals['replaced']} tiles replaced")
    if flagged:
        parts.append(f"{flagged} need a look")
    return "; ".join(parts)
