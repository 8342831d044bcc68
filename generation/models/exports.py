"""Exports built in the background (ZIP files too large to stream on a request), and the token that names one."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from generation.models.tasks import GenerationTask


def new_build_token() -> str:
    return uuid.uuid4().hex


class ExportBuild(models.Model):
    """The task's ZIP, prepared in storage by a background job so that no download holds a web worker while it
    is made or sent. It stands for the task as it was when `fingerprint` was taken. For a finished task, a request
    that finds another fingerprint (a persona regenerated, deleted or added) starts a new build; a running task's
    ZIP is served as it is until it is EXPORT_RUNNING_REFRESH_SECONDS old (export_builds.is_recent_for_running_task).
    `token` names the build that is wanted: a job for an older token, or one whose worker died (its `beat_at`
    stands still for EXPORT_BUILD_STALE_SECONDS), changes nothing."""

    class State(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        READY = "ready", "Ready"

    task = models.OneToOneField(GenerationTask, on_delete=models.CASCADE, related_name="export_build")
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PREPARING)
    token = models.CharField(max_length=32, blank=True)  # empty until a build is queued
    key = models.CharField(max_length=300, blank=True)  # the storage key of the ready ZIP
    size = models.BigIntegerField(null=True, blank=True)
    beat_at = models.DateTimeField(default=timezone.now)  # the building job's last sign of life
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generation_export_builds"

    def __str__(self) -> str:
        return f"{self.task_id} {self.state}"
