"""`manage.py verify_provenance`: every file of a task read back from the storage and its Content Credentials
validated (signature, the hash that binds them to the bytes, the source type, what they say it belongs to)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils import timezone

from generation.integrations import storage
from generation.integrations.provenance import Reading, read
from generation.integrations.provenance.records import VERIFYING, row, save_rows
from generation.models import GenerationTask, ImageCredential

DOWNLOADS = 8  # files fetched at once


@dataclass
class FileCheck:
    """One file's outcome. `row` is what is kept of it (None when there was no file to read)."""

    key: str
    problems: list[str] = field(default_factory=list)
    reading: Reading | None = None
    row: ImageCredential | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def task_files(task: GenerationTask) -> Iterator[tuple[int, str | None, str]]:
    """(persona id, key, url) of every file the task's rows point to: bases and photos, each with its
    thumbnails. The key is None for an URL that is not one of our storage's."""
    for result in task.results.order_by("pk").only("pk", "base_image_url", "images").iterator():
        for url, key in storage.stored_images(result):
            yield result.pk, key, url
            if key:
                for thumbnail in storage.thumbnail_keys(key):
                    yield result.pk, thumbnail, url


def check_file(task: GenerationTask, result_id: int, key: str | None, url: str) -> FileCheck:
    if key is None:
        return FileCheck(url, ["not a file of our storage, so it cannot be checked"])
    try:
        data = storage.read(key)
    except FileNotFoundError:
        return FileCheck(key, ["missing from the storage"])
    except Exception as error:  # the storage refused or timed out: this file is unchecked, the others still go
        return FileCheck(key, [f"could not be read from the storage ({type(error).__name__}: {error})"])
    reading = read(data)
    extra = []
    if reading.state is not None and not reading.error:
        said = (reading.ours.get("task"), reading.ours.get("persona"))
        if said != (task.task_code, result_id):
            extra.append(f"its manifest says task {said[0]}, persona {said[1]}: not where it is stored")
    kept = row(task.pk, result_id, key, data, reading, VERIFYING, extra)
    return FileCheck(key, reading.problems + extra, reading, kept)


def verify_task(task: GenerationTask) -> list[FileCheck]:
    """Check every file of the task (several downloads at once), and keep each outcome in its row: the rows of
    files no result points to any more (left by a unit that failed after storing them) are dropped."""
    recorded = set(ImageCredential.objects.filter(task_id=task.pk).values_list("key", flat=True))
    with ThreadPoolExecutor(max_workers=DOWNLOADS, thread_name_prefix="verify") as pool:
        checks = list(pool.map(lambda item: check_file(task, *item), task_files(task)))
    rows = [check.row for check in checks if check.row]
    save_rows([kept for kept in rows if kept.key in recorded], signed=False)
    save_rows([kept for kept in rows if kept.key not in recorded])  # stored before rows were kept
    unread = [check.key for check in checks if check.row is None and check.key in recorded]
    for check in checks:
        if check.key in unread:
            ImageCredential.objects.filter(key=check.key).update(
                verdict=ImageCredential.Verdict.MISSING,
                problem="; ".join(check.problems),
                checked_at=timezone.now(),
                checked_by=VERIFYING,
            )
    ImageCredential.objects.filter(task_id=task.pk).exclude(key__in=[check.key for check in checks]).delete()
    return checks
