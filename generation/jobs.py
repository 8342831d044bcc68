"""The django-q2 jobs: thin entry points that hand over to the pipeline by id."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from generation.models import GenerationTask
from generation.pipeline import stages

log = logging.getLogger("generation.pipeline")


def start_task(task_pk: int) -> None:
    stages.start_task(task_pk)


def run_unit(unit_id: int) -> None:
    stages.run_unit(unit_id)


def sweep_stalled_tasks() -> int:
    """Every minute (a django-q2 schedule): tasks with no progress for STALL_MINUTES get their lost
    units queued again. The Redis broker forgets a job whose worker died; this is what finds it.
    Tasks whose start job was lost are started again. Returns how many units were requeued."""
    cutoff = timezone.now() - timedelta(minutes=settings.STALL_MINUTES)
    requeued = 0
    for task in GenerationTask.objects.filter(status__in=stages.RUNNING_STATUSES, updated_at__lt=cutoff):
        requeued += stages.resume_stalled(task)
    for task_pk in GenerationTask.objects.filter(
        status=GenerationTask.Status.PENDING, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        stages.start_task(task_pk)
    return requeued
