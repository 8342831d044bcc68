"""Thumbnails for images stored without them: those made before thumbnails existed (`manage.py make_thumbnails`),
and those of a worker cut off between storing an image and its thumbnails (the pipeline's next run). New images get
theirs where they are encoded (generation/imaging/photos.py); here they are made from the stored file."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from generation.imaging.photos import thumbnails_of
from generation.integrations import provenance, storage
from generation.integrations.provenance import records
from generation.models import GenerationTask


def missing_files(
    keys: Iterable[str], stored: Collection[str], origin: provenance.Origin, known: Mapping[str, bytes] | None = None
) -> list[tuple[str, bytes]]:
    """(key, bytes) of the thumbnails that the stored images at `keys` lack, going by `stored` (a listing of their
    folder), each signed as the persona's (`origin`). Each image is read (unless `known` holds its bytes) and decoded
    only when one of its thumbnails is missing."""
    files = []
    for key in keys:
        absent = [width for width in storage.THUMBNAIL_WIDTHS if storage.thumbnail_key(key, width) not in stored]
        if not absent:
            continue
        data = known[key] if known and key in known else storage.read(key)
        made = provenance.sign_thumbnails(thumbnails_of(data, absent), key, provenance.origin_of_stored(data, origin))
        files += [(storage.thumbnail_key(key, width), made[width]) for width in absent]
    return files


@dataclass
class Backfill:
    """What make_thumbnails did: thumbnails written, images that had all theirs, and what it could not do."""

    written: int = 0
    complete: int = 0
    problems: list[str] = field(default_factory=list)


def backfill(task_codes: Sequence[str] = ()) -> Backfill:
    """Write the missing thumbnails of every image the rows of these tasks (all tasks when none is named) point to.
    Idempotent: an image whose thumbnails are all stored is not read. A missing or unreadable image, an URL that is
    not ours, an unknown or a running task is reported, and the others are still done."""
    report = Backfill()
    tasks = GenerationTask.objects.order_by("pk")
    if task_codes:
        tasks = tasks.filter(task_code__in=task_codes)
        known = set(tasks.values_list("task_code", flat=True))
        report.problems += [f"task {code}: no such task" for code in task_codes if code not in known]
    for task in tasks.iterator():
        if not task.is_finished:  # its images unit writes thumbnails itself, and a redo may prune what we read
            report.problems.append(f"task {task.task_code}: still running ({task.status}); run again once it ends")
            continue
        for result in task.results.order_by("pk").iterator():
            _backfill_result(task, result.pk, storage.stored_images(result), report)
    return report


def _backfill_result(
    task: GenerationTask, result_id: int, images: list[tuple[str, str | None]], report: Backfill
) -> None:
    stored = set(storage.list_files(storage.result_prefix(task.task_code, result_id)))
    where = f"task {task.task_code}, result {result_id}"
    for url, key in images:
        if key is None:
            report.problems.append(f"{where}: {url} is not one of our stored images; skipped")
        elif key not in stored:
            report.problems.append(f"{where}: {key} is missing from the storage; no thumbnails made")
        elif storage.is_thumbnail(key):
            report.problems.append(f"{where}: {key} is itself a thumbnail; skipped")
        else:
            try:
                files = missing_files([key], stored, provenance.Origin.of(task.task_code, result_id))
            except FileNotFoundError:  # deleted since the listing
                report.problems.append(f"{where}: {key} is missing from the storage; no thumbnails made")
                continue
            except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
                reason = "not an image file" if isinstance(error, UnidentifiedImageError) else str(error)
                report.problems.append(f"{where}: {key} is not a readable image ({reason}); no thumbnails made")
                continue
            rows = records.checked(task.pk, result_id, files)
            for thumbnail, data in files:
                storage.save(thumbnail, data)
            records.save_rows(rows)
            report.written += len(files)
            report.complete += not files
