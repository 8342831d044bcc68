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
from django_q.tasks import async_task, schedule

from generation.integrations import storage
from generation.models import ExportBuild, GenerationTask, new_build_token
from generation.selectors.exports import export_fingerprint
from generation.services import exports

log = logging.getLogger(__name__)

BUILD_JOB = "generation.services.jobs.build_export"
PRUNE_JOB = "generation.services.jobs.prune_exports"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)


def beat_every() -> float:
    """Four beats in the time after which a build counts as dead: one slow beat does not lose it."""
    return settings.EXPORT_BUILD_STALE_SECONDS / 4


def is_building(build: ExportBuild) -> bool:
    """A build was queued and its job still shows signs of life: asking again changes nothing."""
    fresh = timezone.now() - build.beat_at < stale_after()
    return bool(build.token) and build.state == ExportBuild.State.PREPARING and fresh


def is_recent_for_running_task(build: ExportBuild, task: GenerationTask) -> bool:
    """The one rule for a running task, whose personas change all the time: its ZIP is what was finished when it
    was made, served as it is until it is EXPORT_RUNNING_REFRESH_SECONDS old, without looking at what changed."""
    if task.is_finished or build.state != ExportBuild.State.READY or build.finished_at is None:
        return False
    return timezone.now() - build.finished_at < timedelta(seconds=settings.EXPORT_RUNNING_REFRESH_SECONDS)


def is_served(build: ExportBuild, task: GenerationTask, fingerprint: str | None) -> bool:
    """A ready ZIP stands for the task as it is now (`fingerprint`, None when not taken yet), or is recent enough
    for a running task."""
    if build.state != ExportBuild.State.READY:
        return False
    current = build.fingerprint == fingerprint or is_recent_for_running_task(build, task)
    return current and storage.exists(build.key)


def request_export(task: GenerationTask) -> ExportBuild:
    """The task's build as it stands: ready for the task as it is now, or being prepared. A build is queued only
    when none is running and the last one is out of date (the personas changed) or dead (no beat lately): asking
    again while one runs queues nothing, so the request is safe to repeat. A build that runs is never cut short
    for a newer state: it finishes, and the next request finds whether it is still up to date.

    The task is fingerprinted (every persona row read) only when the cheap look at the build cannot answer: not
    while a build runs, nor while a running task's ZIP is recent, as on every poll of the 202 page."""
    current = ExportBuild.objects.filter(task=task).first()
    if current and (is_building(current) or is_served(current, task, None)):
        return current
    fingerprint = export_fingerprint(task)
    if current and is_served(current, task, fingerprint):
        return current
    with transaction.atomic():
        # The row to lock, made if need be: with no token, it asks for no build yet.
        ExportBuild.objects.bulk_create([ExportBuild(task=task, fingerprint="")], ignore_conflicts=True)
        build = ExportBuild.objects.select_for_update().get(task=task)
        if is_building(build) or is_served(build, task, fingerprint):  # another request got here first
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
    """The build's heartbeat, at most every `beat_every()` seconds however often it is called. It is called only
    from the job's own thread (storage.save_export uploads in the calling thread), so its ORM update uses the
    job's connection, which django-q closes, and `last` needs no lock."""

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
        task_code = row.task.task_code
        transaction.on_commit(lambda: prune_replaced(task_code, key))
        if replaced and replaced != key:  # gone once its links have expired, whether or not another build comes
            after_links = timezone.now() + timedelta(seconds=settings.EXPORT_LINK_SECONDS) + SERVED_AFTER_WRITTEN
            transaction.on_commit(lambda: schedule(PRUNE_JOB, task_code, next_run=after_links))
    log.info("task %s: ZIP ready, %s bytes", task_code, size)
    return True


# The moments between a ZIP being written and being served in place of the one before (the build's last commit).
SERVED_AFTER_WRITTEN = timedelta(minutes=1)


def prune_replaced(task_code: str, current_key: str) -> int:
    """Delete the task's replaced ZIPs once no link handed out for them can still work. A link is valid
    EXPORT_LINK_SECONDS, and a ZIP was handed out until the next one was written: one replaced a moment ago stays
    (a resumed or late download still finds it), to be pruned by the PRUNE_JOB scheduled for when its links have
    expired, by a later build, or with its task. Returns how many were deleted."""
    cutoff = timezone.now() - timedelta(seconds=settings.EXPORT_LINK_SECONDS) - SERVED_AFTER_WRITTEN
    written = storage.export_files(task_code)
    pruned = 0
    for (key, _), (_, next_written) in zip(written, written[1:], strict=False):
        if key != current_key and next_written < cutoff:
            storage.delete(key)
            pruned += 1
    return pruned


def prune_task_exports(task_code: str) -> int:
    """The scheduled prune: the task's replaced ZIPs whose links have expired; nothing once the task is deleted
    (its ZIPs went with it)."""
    current = ExportBuild.objects.filter(task__task_code=task_code).values_list("key", flat=True).first()
    return 0 if current is None else prune_replaced(task_code, current)
