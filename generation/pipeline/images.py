"""One persona's images. A base selfie, then its photo grids made from it (one per four photos, or one 2x4 grid
for eight), split into tiles. Every file is stored under a stable key as soon as it exists, so a second run (after a
crash, or a retry) reuses what was paid for and overwrites rather than duplicates."""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass

from django.conf import settings

from generation.costs import calls
from generation.faces import checks as face_checks
from generation.faces import reference as faces
from generation.imaging.grids import Layout, grid_layouts, grid_shape
from generation.imaging.metadata import with_ai_metadata
from generation.imaging.photos import Photo, split_grid_photos, thumbnails_of
from generation.integrations import backends, provenance, storage
from generation.integrations.backends import RefusedError
from generation.integrations.prompts import base_selfie_prompt, grid_prompt
from generation.integrations.provenance import records
from generation.models import GenerationResult, GenerationTask, ImageCredential, PipelineUnit
from generation.pipeline import thumbnails
from generation.pipeline.face_review import FaceReview
from generation.pipeline.lifecycle import Lease, log_unit
from siteconfig.models import Config


def make_base(task: GenerationTask, result: GenerationResult) -> bytes:
    """The base selfie: from text alone, or from a random reference face when the config flag
    asks for it (a face the model's moderation refuses is swapped for another, a few times)."""
    if Config.get_value("randomize_face_base"):
        gender = result.gender if Config.get_value("randomize_face_gender_lock") else None
        refused: set[str] = set()
        prompt = base_selfie_prompt(
            firstname=result.firstname, gender=result.gender, description=task.persona_description, with_reference=True
        )
        while len(refused) < settings.FACE_SWAP_TRIES:
            face_key = faces.pick_face(gender, refused)
            if face_key is None:
                break
            try:
                return backends.edited_image([storage.read(face_key)], prompt, shape="square")
            except RefusedError:
                refused.add(face_key)
        if refused:
            raise RefusedError(
                f"{len(refused)} reference face(s) in a row were refused by the model's moderation",
                code="refused:reference-faces",
            )
    prompt = base_selfie_prompt(
        firstname=result.firstname, gender=result.gender, description=task.persona_description, with_reference=False
    )
    return backends.new_image(prompt, shape="square")


_pool: tuple[int, ThreadPoolExecutor] | None = None


def threads() -> ThreadPoolExecutor:
    """The worker process's threads for grid calls and tile uploads, kept for its life rather than started for
    every unit (glibc keeps a memory arena per thread it has seen, which grew a worker's RSS: bench/memory.py).
    Made lazily in the process that uses it, since a pool does not survive a fork."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(max_workers=settings.IMAGE_THREADS, thread_name_prefix="images"))
    return _pool[1]


Upload = tuple[Future[None], ImageCredential]  # a file being written, and its Content Credentials row


def upload(files: list[tuple[str, bytes]], lease: Lease) -> list[Upload]:
    """Start writing files (images and their thumbnails) from the worker's threads, once the lease is checked and
    each file's Content Credentials read back as valid. Every file the pipeline stores goes through here and
    storage.save."""
    lease.check()
    rows = records.checked(lease.unit.task_id, lease.unit.result_id, files)
    pool = threads()
    return [(pool.submit(storage.save, key, data), kept) for (key, data), kept in zip(files, rows, strict=True)]


def finish(uploads: list[Upload]) -> None:
    """Wait for every upload, keep the rows of the files written, then raise the first failed one's error (none is
    left running behind it). A row is kept only for a file that is there."""
    wait([future for future, _ in uploads])
    records.save_rows([kept for future, kept in uploads if future.exception() is None])
    for future, _ in uploads:
        future.result()


def store(files: list[tuple[str, bytes]], lease: Lease) -> None:
    """Write files in parallel and wait for them: one image with its thumbnails, before its URL is recorded."""
    if files:
        finish(upload(files, lease))


def base_image(
    unit: PipelineUnit, stored: set[str], lease: Lease, review: FaceReview | None, version: str = ""
) -> tuple[bytes, str]:
    """The stored base when an earlier run made one, else a new one, stored at once (before its grids are asked
    for, so tiles never exist beside a base that failed to store). With face checks, a new base with no face, with
    several, or with the face of another persona of the task is made again once, before it is stored. A persona's
    first base is recorded at once (pages show it while the grids are made); a new one (`version`) only with the
    unit's outcome. Returns the base and its URL."""
    task, result = unit.task, unit.result
    origin = provenance.Origin.of(task.task_code, result.pk)
    key = storage.find_base(task.task_code, result.pk, stored, version)
    if key:
        data = storage.read(key)
        log_unit(unit, "reusing stored base image %s", key)
        store(thumbnails.missing_files([key], stored, origin, {key: data}), lease)  # a run cut off before them
        if review:
            review.check_base(data)
    else:
        raw = make_base(task, result)
        if review and review.base_needs_remaking(raw):
            raw = make_base(task, result)
            review.check_base(raw, remade=True)
        files = signed_base_files(raw, unit, origin, version)
        key = files[0][0]
        store(files, lease)
        data = files[0][1]
        log_unit(unit, "stored base image %s (%s bytes) and its thumbnails, signed", key, len(data))
    url = storage.url(key)
    if not version and result.base_image_url != url:
        result.base_image_url = url
        GenerationResult.objects.filter(pk=result.pk).update(base_image_url=url)
    if review:
        review.record_base(url)
    return data, url


def signed_base_files(
    raw: bytes, unit: PipelineUnit, origin: provenance.Origin, version: str
) -> list[tuple[str, bytes]]:
    """The base as the model sent it (marked, EXIF dropped), signed, with its thumbnails. A file whose container
    c2pa cannot parse (a broken chunk the decoder shrugs off) is signed as a lossless PNG of the same pixels."""
    task, result = unit.task, unit.result
    data, extension = with_ai_metadata(raw)
    thumbnails = thumbnails_of(data, storage.THUMBNAIL_WIDTHS)
    try:
        return provenance.signed_files(
            storage.base_key(task.task_code, result.pk, extension, version), Photo(data, thumbnails), origin, answer=raw
        )
    except provenance.SigningError as error:
        log_unit(unit, "the model's base could not be signed as sent (%s); signing a lossless PNG of it", error)
    data, extension = with_ai_metadata(raw, reencode=True)
    key = storage.base_key(task.task_code, result.pk, extension, version)
    return provenance.signed_files(key, Photo(data, thumbnails), origin)


def make_tiles(
    base: bytes, task: GenerationTask, result: GenerationResult, layout: Layout, part: tuple[int, int], delay: float
) -> list[Photo]:
    """One grid asked for and split into its tiles, each with its thumbnails (in a pool thread)."""
    cols, rows = layout
    prompt = grid_prompt(
        firstname=result.firstname,
        gender=result.gender,
        description=task.persona_description,
        cols=cols,
        rows=rows,
        part=part[0],
        parts=part[1],
    )
    grid = backends.edited_image([base], prompt, shape=grid_shape(layout), grid=layout, delay=delay)
    return split_grid_photos(
        grid,
        cols,
        rows,
        thumbnail_widths=storage.THUMBNAIL_WIDTHS,
        image_format=settings.IMAGE_FORMAT,
        quality=settings.IMAGE_QUALITY,
        description=f"AI-generated photo of a fictional person ({result.firstname} {result.lastname}).",
    )


@dataclass(frozen=True)
class Photos:
    """What an images unit made: the tiles' URLs and the base's, which the lifecycle records with the unit's outcome
    (fenced on the lease), and a note of what the face checks replaced."""

    images: list[str]
    base_url: str
    note: str = ""


def run_images(unit: PipelineUnit, lease: Lease, *, version: str = "") -> Photos:
    """The persona's base and tiles, stored. With `version` (an operator asked for new photos), all of them are
    made anew under keys of their own; otherwise what an earlier run stored is reused. Before each write the lease
    is checked, so a worker that lost it stops."""
    task, result = unit.task, unit.result
    expected = task.images_per_persona
    if not version and isinstance(result.images, list) and len(result.images) == expected:
        return Photos(result.images, result.base_image_url)
    provenance.signing_credentials()  # before any call is paid for: a CredentialsError stops the task
    # What an earlier run stored, from one listing of the result's folder rather than a request per file.
    stored = set(storage.list_files(storage.result_prefix(task.task_code, result.pk)))
    review = FaceReview(unit) if face_checks.enabled() else None
    base, base_url = base_image(unit, stored, lease, review, version)

    missing: list[tuple[Layout, tuple[int, int], list[str], int]] = []
    kept: list[str] = []  # tiles of grids an earlier run stored whole
    layouts = grid_layouts(expected)
    position = 1
    for part, layout in enumerate(layouts, 1):
        count = layout[0] * layout[1]
        keys = [storage.tile_key(task.task_code, result.pk, position + n, version) for n in range(count)]
        if all(key in stored for key in keys):
            kept += keys
        else:
            missing.append((layout, (part, len(layouts)), keys, position))
        position += len(keys)
    # A run cut off between a tile and its thumbnails: make those from the stored tile, not from a new grid.
    origin = provenance.Origin.of(task.task_code, result.pk)
    store(thumbnails.missing_files(kept, stored, origin), lease)

    # Slots are reserved and the budget checked here, in this thread, so the pool's threads never touch the database.
    if missing:
        calls.before_try()
    delays = backends.image_slots(len(missing))
    pool = threads()
    grids = {
        pool.submit(contextvars.copy_context().run, calls.hold, make_tiles, base, task, result, layout, part, delay): (
            keys,
            layout,
            first,
        )
        for (layout, part, keys, first), delay in zip(missing, delays, strict=True)
    }
    first_error: Exception | None = None
    uploads: list[Upload] = []
    tiles_stored = 0
    for grid in as_completed(grids):  # a grid's tiles are uploaded, in parallel, as soon as it is split
        keys, layout, first = grids[grid]
        try:
            tiles = calls.settle(grid.result())
            if review:  # here, in this thread, while the other grid is still being made
                tiles = review.review_tiles(base, tiles, layout, first)
            files = []
            for key, tile in zip(keys, tiles, strict=True):
                files += provenance.signed_files(key, tile, origin)
            uploads += upload(files, lease)
            tiles_stored += len(tiles)
        except Exception as error:  # the other grid's tiles are still kept
            first_error = first_error or error
            continue
    finish(uploads)
    if uploads:
        log_unit(unit, "stored %s tiles and their thumbnails (%s files), signed", tiles_stored, len(uploads))
    if first_error:
        raise first_error

    tile_keys = [storage.tile_key(task.task_code, result.pk, n, version) for n in range(1, expected + 1)]
    records.fill_in(task.pk, result.pk, storage.persona_files(base_url, tile_keys))
    urls = [storage.url(key) for key in tile_keys]
    if review is None:
        return Photos(urls, base_url)
    lease.check()
    review.record_tiles(urls, version)
    return Photos(urls, base_url, review.note())
