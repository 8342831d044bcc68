"""The task's ZIP, prepared by a background job into storage and handed out from there.

Sending a ZIP of hundreds of MB from the request that builds it held a gunicorn worker for as long as the slowest
reader took, and the worker's timeout cut the download off. Now a request for the ZIP asks for a build (one at a
time per task, whatever the number of requests, and none while the last one is up to date), and once it is ready
answers a presigned S3 link, or the file itself from local storage (sent by one thread of a gthread worker, which
the timeout does not cut off: see the Procfile)."""

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


def is_served(build: ExportBuild, task: GenerationTask, fingerprint: str) -> bool:
    """A ready ZIP stands for the task as it is now. While the task runs, its personas change all the time: a ZIP
    made less than EXPORT_BUILD_STALE_SECONDS ago is what is finished so far, as a running task's export is."""
    if build.state != ExportBuild.State.READY:
        return False
    recent = not task.is_finished and timezone.now() - build.finished_at < stale_after()
    return (build.fingerprint == fingerprint or recent) and storage.exists(build.key)


def request_export(task: GenerationTask) -> ExportBuild:
    """The task's build as it stands: ready for the task as it is now, or being prepared. A build is queued only
    when none is running and the last one is out of date (the personas changed) or dead (no beat lately): asking
    again while one runs queues nothing, so the request is safe to repeat. A build that runs is never cut short
    for a newer state: it finishes, and the next request finds whether it is still up to date."""
    fingerprint = export_fingerprint(task)
    current = ExportBuild.objects.filter(task=task).first()
    if current and is_served(current, task, fingerprint):
        return current
    with transaction.atomic():
        # The row to lock, made if need be: with no fingerprint, it asks for no build yet.
        ExportBuild.objects.bulk_create([ExportBuild(task=task, fingerprint="")], ignore_conflicts=True)
        build = ExportBuild.objects.select_for_update().get(task=task)
        fresh = timezone.now() - build.beat_at < stale_after()
        running = build.fingerprint and build.state == ExportBuild.State.PREPARING and fresh
        if running or is_served(build, task, fingerprint):  # another request got here first
            return build
        build.fingerprint, build.state, build.token = fingerprint, ExportBuild.State.PREPARING, new_build_token()
        build.beat_at = timezone.now()
        build.save(update_fields=["fingerprint", "state", "token", "beat_at"])
        pk, token = build.pk, build.token
        transaction.on_commit(lambda: async_task(BUILD_JOB, pk, token, task_name=f"export-{task.task_code}"))
    log.info("task %s: preparing its ZIP (build %s)", task.task_code, token)
    return build


class Superseded(Exception):
    """This build is no longer the wanted one: it went quiet for so long that another took over."""


class Pulse:
    """The build's heartbeat, at most every `beat_every()` seconds however often it is called."""

    def __init__(self, build_pk: int, token: str) -> None:
        self.build_pk, self.token, self.last = build_pk, token, time.monotonic()

    def __call__(self, *_) -> None:
        if time.monotonic() - self.last > beat_every():
            self.beat()

    def beat(self) -> None:
        if not ExportBuild.objects.filter(pk=self.build_pk, token=self.token).update(beat_at=timezone.now()):
            raise Superseded
        self.last = time.monotonic()


def build(build_pk: int, token: str) -> bool:
    """Write the ZIP to a temporary file, then to storage under a key of this build's own, and mark it ready,
    beating all along. A build that is not the wanted one (taken over after it went quiet, or its task deleted)
    stops at its next beat and leaves the row alone. Returns whether this build is the one now served."""
    row = ExportBuild.objects.select_related("task").filter(pk=build_pk, token=token).first()
    if row is None or row.state != ExportBuild.State.PREPARING:
        return False
    # The state this ZIP stands for, taken before a row is read: whatever changes later makes it out of date.
    fingerprint = export_fingerprint(row.task)
    key = storage.export_key(row.task.task_code, token)
    pulse = Pulse(build_pk, token)
    try:
        with tempfile.TemporaryFile() as spooled:
            for chunk in exports.zip_archive(row.task):
                spooled.write(chunk)
                pulse()
            pulse.beat()
            size = storage.save_export(key, spooled, progress=pulse)
    except Superseded:
        log.info("task %s: ZIP build %s taken over by another", row.task.task_code, token)
        return False
    return finish(build_pk, token, fingerprint, key, size)


def finish(build_pk: int, token: str, fingerprint: str, key: str, size: int) -> bool:
    with transaction.atomic():
        row = ExportBuild.objects.select_for_update().filter(pk=build_pk).first()
        if row is None or row.token != token:
            transaction.on_commit(lambda: storage.delete(key))
            return False
        replaced = row.key
        row.state, row.fingerprint, row.key, row.size = ExportBuild.State.READY, fingerprint, key, size
        row.finished_at = timezone.now()
        row.save(update_fields=["state", "fingerprint", "key", "size", "finished_at"])
        if replaced and replaced != key:
            transaction.on_commit(lambda: storage.delete(replaced))
    log.info("task %s: ZIP ready, %s bytes", row.task.task_code, size)
    return True
