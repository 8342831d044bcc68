"""The task's ZIP, prepared by a background job into storage and handed out from there.

Sending a ZIP of hundreds of MB from the request that builds it held a gunicorn worker for as long as the slowest
reader took, and the worker's timeout cut the download off. Now a request for the ZIP asks for a build (at most
one per state of the task, whatever the number of requests), and once it is ready answers a presigned S3 link, or
the file itself from local storage (sent by a gthread worker's thread: see the Procfile)."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from generation import exports, storage
from generation.models import ExportBuild, GenerationTask, new_build_token
from generation.selectors.exports import export_fingerprint

log = logging.getLogger(__name__)

BUILD_JOB = "generation.jobs.build_export"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)


def beat_every() -> float:
    """Four beats in the time after which a build counts as dead: one slow beat does not lose it."""
    return settings.EXPORT_BUILD_STALE_SECONDS / 4


def is_served(build: ExportBuild, fingerprint: str) -> bool:
    return build.state == ExportBuild.State.READY and build.fingerprint == fingerprint and storage.exists(build.key)


def request_export(task: GenerationTask) -> ExportBuild:
    """The task's build as it stands: ready for the task as it is now, or being prepared. A build is queued only
    when none is, or the one there is out of date (the personas changed) or dead (no beat lately): asking again
    while it runs queues nothing, so the request is safe to repeat."""
    fingerprint = export_fingerprint(task)
    current = ExportBuild.objects.filter(task=task).first()
    if current and is_served(current, fingerprint):
        return current
    with transaction.atomic():
        ExportBuild.objects.bulk_create([ExportBuild(task=task, fingerprint="")], ignore_conflicts=True)
        build = ExportBuild.objects.select_for_update().get(task=task)
        fresh = timezone.now() - build.beat_at < stale_after()
        if build.fingerprint == fingerprint and build.state == ExportBuild.State.PREPARING and fresh:
            return build
        if build.fingerprint == fingerprint and is_served(build, fingerprint):  # made ready while we waited
            return build
        build.fingerprint, build.state, build.token = fingerprint, ExportBuild.State.PREPARING, new_build_token()
        build.beat_at = timezone.now()
        build.save(update_fields=["fingerprint", "state", "token", "beat_at"])
        pk, token = build.pk, build.token
        transaction.on_commit(lambda: async_task(BUILD_JOB, pk, token, task_name=f"export-{task.task_code}"))
    log.info("task %s: preparing its ZIP (build %s)", task.task_code, token)
    return build


def build(build_pk: int, token: str) -> bool:
    """Write the ZIP to a temporary file, then to storage under a key of this build's own, and mark it ready. A
    build whose token is no longer the wanted one (superseded, or taken over after it went quiet) stops at its
    next beat and leaves the row alone. Returns whether this build is the one now served."""
    row = ExportBuild.objects.select_related("task").filter(pk=build_pk, token=token).first()
    if row is None or row.state != ExportBuild.State.PREPARING:
        return False
    key = storage.export_key(row.task.task_code, token)
    with tempfile.TemporaryFile() as spooled:
        last_beat = time.monotonic()
        for chunk in exports.zip_archive(row.task):
            spooled.write(chunk)
            if time.monotonic() - last_beat > beat_every():
                if not beat(build_pk, token):
                    return False
                last_beat = time.monotonic()
        if not beat(build_pk, token):
            return False
        size = storage.save_export(key, spooled)
    return finish(build_pk, token, key, size)


def beat(build_pk: int, token: str) -> bool:
    """Show this build is alive; False when it is not the wanted one any more."""
    return bool(ExportBuild.objects.filter(pk=build_pk, token=token).update(beat_at=timezone.now()))


def finish(build_pk: int, token: str, key: str, size: int) -> bool:
    with transaction.atomic():
        row = ExportBuild.objects.select_for_update().filter(pk=build_pk).first()
        if row is None or row.token != token:
            transaction.on_commit(lambda: storage.delete(key))
            return False
        replaced = row.key
        row.state, row.key, row.size, row.finished_at = ExportBuild.State.READY, key, size, timezone.now()
        row.save(update_fields=["state", "key", "size", "finished_at"])
        if replaced and replaced != key:
            transaction.on_commit(lambda: storage.delete(replaced))
    log.info("task %s: ZIP ready, %s bytes", row.task.task_code, size)
    return True
