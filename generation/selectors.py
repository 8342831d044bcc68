"""Read paths for tasks and results."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from generation.models import GenerationResult, GenerationTask


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
