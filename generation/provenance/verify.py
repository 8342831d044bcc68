"""`manage.py verify_provenance`: every file of a task read back from the storage and its Content Credentials
validated (signature, the hash that binds them to the bytes, the source type, what they say it belongs to)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils import timezone

from generation import storage
from generation.models import GenerationTask, ImageCredential
from generation.provenance import Reading, read
from generation.provenance.records import VERIFYING, row, save_rows

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
        for url in filter(None, [result.base_image_url, *(result.images or [])]):
            key = storage.key_from_url(url)
            yield result.pk, key, url
            if key:
                for thumbnail in storage.thumbnail_keys(key):
                    yield result.pk, thumbnail, url


def check_file(task: GenerationTask, result_id: int, key: str | None, url: str, recorded: dict[str, str]) -> FileCheck:
    if key is None:
        return FileCheck(url, ["not a file of our storage, so it cannot be checked"])
    try:
        data = storage.read(key)
    except FileNotFoundError:
        return FileCheck(key, ["missing from the storage"])
    reading = read(data)
    extra = []
    if reading.state is not None and not reading.error:
        said = (reading.ours.get("task"), reading.ours.get("persona"))
        if said != (task.task_code, result_id):
            extra.append(f"its manifest says task {said[0]}, persona {said[1]}: not where it is stored")
    if key in recorded and recorded[key] != hashlib.sha256(data).hexdigest() and not reading.problems + extra:
        extra.append("its bytes differ from those stored, though its manifest validates")
    kept = row(task.pk, result_id, key, data, reading, VERIFYING, extra)
    return FileCheck(key, reading.problems + extra, reading, kept)


def verify_task(task: GenerationTask) -> list[FileCheck]:
    """Check every file of the task (several downloads at once), and keep each outcome in its row."""
    recorded = dict(ImageCredential.objects.filter(task_id=task.pk).values_list("key", "sha256"))
    with ThreadPoolExecutor(max_workers=DOWNLOADS, thread_name_prefix="verify") as pool:
        checks = list(pool.map(lambda item: check_file(task, *item, recorded), task_files(task)))
    rows = [check.row for check in checks if check.row]
    save_rows([kept for kept in rows if kept.key in recorded], signed=False)
    save_rows([kept for kept in rows if kept.key not in recorded])  # stored before rows were kept
    gone = [check.key for check in checks if check.row is None and check.key in recorded]
    ImageCredential.objects.filter(task_id=task.pk, key__in=gone).update(
        verdict=ImageCredential.Verdict.MISSING,
        problem="missing from the storage",
        checked_at=timezone.now(),
        checked_by=VERIFYING,
    )
    return checks
