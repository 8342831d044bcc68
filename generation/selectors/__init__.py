"""Read paths for tasks and results; the task page's live state and its gallery have a module each."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page
from django.db.models import Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from generation.integrations.provenance import records
from generation.models import ApiCall, GenerationResult, GenerationTask, PipelineUnit
from generation.selectors.gallery import GalleryFilters, gallery_page, page_numbers
from generation.selectors.paging import TASKS_PER_PAGE, KeysFirstPaginator
from generation.selectors.progress import (
    TaskState,
    face_summary,
    format_seconds,
    seconds_running,
    task_state,
    worker_last_seen,
)

__all__ = [
    "GalleryFilters",
    "credentials_summary",
    "TASKS_PER_PAGE",
    "TaskState",
    "face_summary",
    "gallery_page",
    "page_numbers",
    "task_state",
    "worker_last_seen",
]


def _result_count(**filters) -> Coalesce:
    """A correlated count of a task's results: evaluated only for the rows a page shows, unlike a
    JOIN + GROUP BY over the whole results table."""
    counted = (
        GenerationResult.objects.filter(task=OuterRef("pk"), **filters)
        .order_by()
        .values("task")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def tasks_with_progress(queryset: QuerySet[GenerationTask] | None = None) -> QuerySet[GenerationTask]:
    """Tasks annotated with `personas_with_data` (results saved) and `personas_done` (results
    that also have their images)."""
    queryset = GenerationTask.objects.all() if queryset is None else queryset
    return queryset.annotate(
        personas_with_data=_result_count(),
        personas_done=_result_count(images__isnull=False),
    )


@dataclass(frozen=True)
class TaskProgress:
    task_code: str
    status: str
    asked: int
    with_data: int
    with_images: int
    failed_units: int
    finished: bool

    def bar(self, width: int = 30) -> str:
        done = self.with_images if self.status != GenerationTask.Status.GENERATING_DATA else self.with_data
        filled = round(width * done / self.asked) if self.asked else width
        stage = "data" if self.status == GenerationTask.Status.GENERATING_DATA else "images"
        return f"[{'#' * filled}{'.' * (width - filled)}] {stage}: {done}/{self.asked} ({self.status})"

    def summary(self) -> str:
        return (
            f"{self.with_data} of {self.asked} persona(s) with data, {self.with_images} with images"
            f"{f', {self.failed_units} unit(s) failed' if self.failed_units else ''}."
        )


def task_progress(task_pk: int) -> TaskProgress:
    """How far a task has got, in one query."""
    task = (
        tasks_with_progress(GenerationTask.objects.filter(pk=task_pk))
        .annotate(
            failed_units=Coalesce(
                Subquery(
                    PipelineUnit.objects.filter(task=OuterRef("pk"), state=PipelineUnit.State.FAILED)
                    .order_by()
                    .values("task")
                    .annotate(n=Count("id"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            )
        )
        .get()
    )
    return TaskProgress(
        task_code=task.task_code,
        status=task.status,
        asked=task.number_to_generate,
        with_data=task.personas_with_data,
        with_images=task.personas_done,
        failed_units=task.failed_units,
        finished=task.is_finished,
    )


def visible_tasks(user) -> QuerySet[GenerationTask]:
    """A user's own tasks; a superuser sees everyone's."""
    tasks = GenerationTask.objects.select_related("user")
    return tasks if user.is_superuser else tasks.filter(user=user)


def listed_tasks(user, status: str | None = None) -> QuerySet[GenerationTask]:
    """The tasks the list shows a user, newest first (a status that is not one of ours filters nothing)."""
    tasks = visible_tasks(user).order_by("-id")
    return tasks.filter(status=status) if status in GenerationTask.Status.values else tasks


def with_list_figures(tasks: QuerySet[GenerationTask]) -> QuerySet[GenerationTask]:
    """Tasks with their progress and `spent` (what their calls cost, by the index on the calls' task)."""
    spent = ApiCall.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(total=Sum("cost_usd"))
    return tasks_with_progress(tasks).annotate(spent=Subquery(spent.values("total"), output_field=DecimalField()))


def task_list_page(user, status: str | None, number: object, per_page: int = TASKS_PER_PAGE) -> Page:
    """One page of the task list, keys first (selectors/paging.py): only the page's tasks get their figures. A page
    number that is not one (garbage, out of range) gives the first or last page."""

    def rows_of(keys: list) -> list[GenerationTask]:
        return list(with_list_figures(listed_tasks(user).filter(pk__in=keys)))

    return KeysFirstPaginator(listed_tasks(user, status), per_page, rows_of=rows_of).get_page(number)


def task_for(user, task_code: str) -> GenerationTask:
    """The task, if this user may see it; 404 otherwise (never a hint that it exists)."""
    if "\x00" in task_code:
        # No task id holds NUL, and PostgreSQL refuses it in a query (a DataError, so a 500).
        raise Http404("No such task.")
    return get_object_or_404(visible_tasks(user), task_code=task_code)


def last_language(user) -> str | None:
    return GenerationTask.objects.filter(user=user).order_by("-id").values_list("bio_language", flat=True).first()


@dataclass(frozen=True)
class TaskSummary:
    seconds: float
    running: bool
    genders: dict[str, int]
    failures: list[tuple[str, int]]  # (reason, how many)

    @property
    def duration(self) -> str:
        return format_seconds(self.seconds)


def task_summary(task: GenerationTask) -> TaskSummary:
    genders = dict(task.results.order_by().values_list("gender").annotate(n=Count("id")))
    failures = list(
        task.units.filter(state=PipelineUnit.State.FAILED)
        .order_by()
        .values_list("note")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    return TaskSummary(
        seconds=seconds_running(task)[0],
        running=not task.is_finished,
        genders={"Women": genders.get("f", 0), "Men": genders.get("m", 0)},
        failures=failures,
    )


def task_by_code(code: str) -> GenerationTask | None:
    """The task a person typed the code of (commands), or None; the code is trimmed and lower-cased as shown."""
    code = code.strip().lower()
    return GenerationTask.objects.filter(task_code=code).first() if "\x00" not in code else None


def credentials_summary(task: GenerationTask, state: TaskState) -> records.Summary:
    """The task's Content Credentials line, from the rows kept as its files were stored and checked (no download)."""
    return records.summary(task, state.with_images)
