"""One persona's images: a base selfie, then its photo grids made from it (as many as its count of photos needs),
split into tiles. The persona's files (`persona_files`) keep each file under a stable key as soon as it exists, and
its face review (`face_review`) checks every face and replaces a photo that shows another."""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from generation.costs import calls
from generation.integrations import backends
from generation.models import PipelineUnit
from generation.pipeline.face_review import FaceReview, make_base
from generation.pipeline.lifecycle import Lease, log_unit
from generation.pipeline.persona_files import Grid, PersonaFiles, Upload

if TYPE_CHECKING:
    from generation.imaging.photos import Photo

_pool: tuple[int, ThreadPoolExecutor] | None = None


def threads() -> ThreadPoolExecutor:
    """The worker process's threads for grid calls and tile uploads, kept for its life rather than started for
    every unit (glibc keeps a memory arena per thread it has seen, which grew a worker's RSS: bench/memory.py).
    Made lazily in the process that uses it, since a pool does not survive a fork."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(max_workers=settings.IMAGE_THREADS, thread_name_prefix="images"))
    return _pool[1]


@dataclass(frozen=True)
class Photos:
    """What an images unit made: the tiles' URLs and the base's, which the lifecycle records with the unit's outcome
    (fenced on the lease), and a note of what the face checks replaced."""

    images: list[str]
    base_url: str
    note: str = ""


def run_images(unit: PipelineUnit, lease: Lease, *, version: str = "", ideas: list[str] | None = None) -> Photos:
    """The persona's base and tiles, stored. With `version` (an operator asked for new photos), all of them are
    made anew under keys of their own, from `ideas`; otherwise what an earlier run stored is reused. Before each
    write the lease is checked, so a worker that lost it stops."""
    task, result = unit.task, unit.result
    expected = task.images_per_persona
    if not version and isinstance(result.images, list) and len(result.images) == expected:
        return Photos(result.images, result.base_image_url)
    files = PersonaFiles(unit, lease, threads(), version, ideas)
    files.check_signing()  # before any call is paid for: a CredentialsError stops the task
    review = FaceReview.for_unit(unit, files)
    base, base_url = base_image(unit, files, review)
    grids = files.grids_to_make(expected)
    store_grids(unit, files, review, base, grids)
    urls = files.record_all(base_url, expected)
    if review is None:
        return Photos(urls, base_url)
    lease.check()
    review.record_tiles(urls, version)
    return Photos(urls, base_url, review.note())


def base_image(unit: PipelineUnit, files: PersonaFiles, review: FaceReview | None) -> tuple[bytes, str]:
    """The stored base when an earlier run made one, else a new one, stored at once (before its grids are asked
    for, so tiles never exist beside a base that failed to store). With face checks, a new base with no face, with
    several, or with the face of another persona of the task is made again once, before it is stored. Returns the
    base and its URL."""
    stored = files.stored_base()
    if stored:
        data, url = stored
        if review:
            review.check_base(data)
    else:
        raw = make_base(files.sitter)
        base = files.base_photo(raw)
        if review and review.base_needs_remaking(base[0].data):
            raw = make_base(files.sitter)
            base = files.base_photo(raw)
            review.check_base(base[0].data, remade=True)
        data, url = files.store_base(raw, base)
    files.record_base(url)
    if review:
        review.record_base(url)
    return data, url


def store_grids(
    unit: PipelineUnit, files: PersonaFiles, review: FaceReview | None, base: bytes, grids: list[Grid]
) -> None:
    """Ask for the grids at once, from the worker's threads, and store each one's tiles as soon as it is split
    (and reviewed), while the others are still being made. A failed grid's error is raised once the others' tiles
    are stored."""
    # Slots are reserved and the budget checked here, in this thread, so the pool's threads never touch the database.
    if grids:
        calls.before_try()
    delays = backends.image_slots(len(grids))
    pending = {
        files.pool.submit(contextvars.copy_context().run, calls.hold, make_tiles, files, base, unit, grid, delay): grid
        for grid, delay in zip(grids, delays, strict=True)
    }
    first_error: Exception | None = None
    uploads: list[Upload] = []
    tiles_stored = 0
    for made in as_completed(pending):
        grid = pending[made]
        try:
            tiles = calls.settle(made.result())
            if review:  # here, in this thread, while the other grids are still being made
                tiles = review.review_tiles(base, tiles, grid.layout, grid.first)
            uploads += files.upload_photos(grid.keys, tiles)
            tiles_stored += len(tiles)
        except Exception as error:  # the other grids' tiles are still kept
            first_error = first_error or error
    files.finish(uploads)
    if uploads:
        log_unit(unit, "stored %s tiles and their thumbnails (%s files), signed", tiles_stored, len(uploads))
    if first_error:
        raise first_error


def make_tiles(files: PersonaFiles, base: bytes, unit: PipelineUnit, grid: Grid, delay: float) -> list[Photo]:
    """One grid asked for and split into its tiles, each with its thumbnails (in a pool thread)."""
    made = backends.photo_grid(
        base, files.sitter, layout=grid.layout, ideas=grid.ideas, part=grid.part, parts=grid.parts, delay=delay
    )
    return files.tiles_of(made, grid)
