"""One persona's stored files while a unit makes its images: what an earlier run left in its folder, and the
encoding, signing, storing and recording of what this run makes. Every file goes in under a stable key as soon as it
exists, so a second run (after a crash, or a retry) reuses what was paid for and overwrites rather than duplicates.
Every file the pipeline stores passes through `upload`, which reads its Content Credentials back first."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings

from generation.imaging.grids import Layout, grid_layouts
from generation.imaging.looks import trimmed_png
from generation.imaging.metadata import with_ai_metadata
from generation.imaging.photos import Derivation, Photo, fit_tile, split_grid_photos, thumbnails_of
from generation.integrations import provenance, storage
from generation.integrations.contract import Sitter
from generation.integrations.provenance import records
from generation.models import GenerationResult, GenerationTask, ImageCredential, PersonaDetails, PipelineUnit
from generation.pipeline import thumbnails
from generation.pipeline.lifecycle import Lease, log_unit
from siteconfig.models import Config

Upload = tuple[Future[None], ImageCredential]  # a file being written, and its Content Credentials row


def photo_description(result: GenerationResult) -> str:
    """The description every stored photo of the persona carries in its XMP."""
    return f"AI-generated photo of a fictional person ({result.firstname} {result.lastname})."


def sitter_of(task: GenerationTask, result: GenerationResult, details: PersonaDetails | None) -> Sitter:
    """Who the persona's photos show: their age, heritage, look, job and town (a persona made before profiles has
    the task's description instead)."""
    return Sitter(
        firstname=result.firstname,
        gender=result.gender,
        description=task.persona_description,
        age=result.age,
        ethnicity=result.ethnicity or "",
        look=details.look if details else "",
        job=result.job_title or "",
        town=", ".join(part for part in (result.current_city, result.current_state) if part),
    )


@dataclass(frozen=True)
class Grid:
    """A grid still to be asked for: its layout, its place among the persona's grids and its tiles' keys."""

    layout: Layout
    part: int
    parts: int
    keys: list[str]
    first: int  # the position of its first tile among the persona's photos
    ideas: list[str]  # its tiles' photo ideas, in order ([] for a persona without ideas)


class PersonaFiles:
    """The files of the unit's persona, under `version` (an operator's redo) or the persona's own keys, with who
    they show and each photo's idea (the persona's own, or `ideas` for new photos). Uploads run on `pool`, the
    worker's image threads."""

    def __init__(
        self,
        unit: PipelineUnit,
        lease: Lease,
        pool: ThreadPoolExecutor,
        version: str = "",
        ideas: list[str] | None = None,
    ):
        self.unit, self.lease, self.pool, self.version = unit, lease, pool, version
        details = PersonaDetails.objects.filter(result_id=unit.result_id).only("look", "photo_ideas").first()
        self.sitter = sitter_of(unit.task, unit.result, details)
        if ideas is None:
            ideas = list(details.photo_ideas or []) if details else []
        self.ideas = ideas
        self.task_code, self.result_id = unit.task.task_code, unit.result_id
        self.origin = provenance.Origin.of(self.task_code, self.result_id)
        self.trim_white = Config.get_value("crop_white_borders")
        self.styled = Config.get_value("randomize_image_style")

    @staticmethod
    def check_signing() -> None:
        """Raise CredentialsError now, before any call is paid for, when no file could be signed."""
        provenance.signing_credentials()

    @cached_property
    def stored(self) -> set[str]:
        """What an earlier run stored, from one listing of the persona's folder rather than a request per file."""
        return set(storage.list_files(storage.result_prefix(self.task_code, self.result_id)))

    def read(self, url: str) -> bytes:
        return storage.read_image(url)

    # --- The base ---------------------------------------------------------------------------------------------

    def stored_base(self) -> tuple[bytes, str] | None:
        """The base an earlier run stored and its URL, with any thumbnails that run was cut off before."""
        key = storage.find_base(self.task_code, self.result_id, self.stored, self.version)
        if key is None:
            return None
        data = storage.read(key)
        log_unit(self.unit, "reusing stored base image %s", key)
        self.store(thumbnails.missing_files([key], self.stored, self.origin, {key: data}))
        return data, storage.url(key)

    def base_photo(self, raw: bytes) -> tuple[Photo, str]:
        """The base as it will be stored, and its extension: the model's file marked as AI-generated (EXIF
        dropped), or, with crop_white_borders on and a border to trim, a lossless PNG of it without the border.
        The face check and the signature see this file."""
        trimmed = trimmed_png(raw) if self.trim_white else None
        data, extension = with_ai_metadata(trimmed or raw)
        made_from = Derivation("model answer", raw, ("c2pa.cropped",)) if trimmed else None
        return Photo(data, thumbnails_of(data, storage.THUMBNAIL_WIDTHS), made_from), extension

    def store_base(self, raw: bytes, base: tuple[Photo, str]) -> tuple[bytes, str]:
        """The base (`base_photo`) signed and stored with its thumbnails. A file whose container c2pa cannot parse
        (a broken chunk the decoder shrugs off) is signed as a lossless PNG of the same pixels. Returns the stored
        bytes and their URL."""
        photo, extension = base
        answer = raw if photo.made_from is None else None
        try:
            key = storage.base_key(self.task_code, self.result_id, extension, self.version)
            files = provenance.signed_files(key, photo, self.origin, answer=answer)
        except provenance.SigningError as error:
            log_unit(self.unit, "the model's base could not be signed as sent (%s); signing a lossless PNG", error)
            data, extension = with_ai_metadata(photo.data, reencode=True)
            key = storage.base_key(self.task_code, self.result_id, extension, self.version)
            files = provenance.signed_files(key, Photo(data, photo.thumbnails, photo.made_from), self.origin)
        self.store(files)
        log_unit(self.unit, "stored base image %s (%s bytes) and its thumbnails, signed", key, len(files[0][1]))
        return files[0][1], storage.url(key)

    def record_base(self, url: str) -> None:
        """A persona's first base is recorded at once, so pages show it while the grids are made; a new one (an
        operator's redo) only with the unit's outcome."""
        result = self.unit.result
        if not self.version and result.base_image_url != url:
            result.base_image_url = url
            GenerationResult.objects.filter(pk=result.pk).update(base_image_url=url)

    # --- The tiles --------------------------------------------------------------------------------------------

    def idea(self, position: int) -> str:
        """The photo idea of the photo at `position` (1…), "" when it has none."""
        return self.ideas[position - 1] if 1 <= position <= len(self.ideas) else ""

    def tile_key(self, position: int) -> str:
        return storage.tile_key(self.task_code, self.result_id, position, self.version)

    def grids_to_make(self, count: int) -> list[Grid]:
        """The grids of `count` photos that an earlier run did not store whole. Tiles it did store get any
        thumbnails it was cut off before, made from the stored tile rather than from a new grid."""
        layouts = grid_layouts(count)
        missing: list[Grid] = []
        kept: list[str] = []
        position = 1
        for part, layout in enumerate(layouts, 1):
            keys = [self.tile_key(position + n) for n in range(layout[0] * layout[1])]
            if all(key in self.stored for key in keys):
                kept += keys
            else:
                ideas = self.ideas[position - 1 : position - 1 + len(keys)]
                missing.append(Grid(layout, part, len(layouts), keys, position, ideas))
            position += len(keys)
        self.store(thumbnails.missing_files(kept, self.stored, self.origin))
        return missing

    def encoding(self) -> dict:
        """How the persona's photos are encoded: the settings' format and quality, its thumbnails, its description
        and the white-border flag."""
        return {
            "thumbnail_widths": storage.THUMBNAIL_WIDTHS,
            "image_format": settings.IMAGE_FORMAT,
            "quality": settings.IMAGE_QUALITY,
            "description": photo_description(self.unit.result),
            "trim_white": self.trim_white,
        }

    def tiles_of(self, made: bytes, grid: Grid) -> list[Photo]:
        """A grid cut into its tiles, each encoded with its thumbnails (pure: run in a pool thread). With
        randomize_image_style on, each tile gets a look drawn from its key, so a second run makes the same file."""
        cols, rows = grid.layout
        seeds = grid.keys if self.styled else None
        return split_grid_photos(made, cols, rows, look_seeds=seeds, **self.encoding())

    def fitted(self, photo: bytes, size: tuple[int, int], position: int) -> Photo:
        """A single photo made to stand in for the tile at `position`, of `size`, encoded as the tiles are (pure: no
        database)."""
        seed = f"{self.tile_key(position)} replacement" if self.styled else None
        return fit_tile(photo, size, look_seed=seed, **self.encoding())

    def upload_photos(self, keys: Sequence[str], photos: Sequence[Photo]) -> list[Upload]:
        files = []
        for key, photo in zip(keys, photos, strict=True):
            files += provenance.signed_files(key, photo, self.origin)
        return self.upload(files)

    def store_photo(self, position: int, photo: Photo) -> str:
        """One photo signed and stored at its position; its URL."""
        key = self.tile_key(position)
        self.store(provenance.signed_files(key, photo, self.origin))
        return storage.url(key)

    def record_all(self, base_url: str, count: int) -> list[str]:
        """Keep a credentials row for every file of the persona (one a crash left unrecorded is read back now), and
        return the URLs of its `count` photos."""
        keys = [self.tile_key(n) for n in range(1, count + 1)]
        records.fill_in(self.unit.task_id, self.result_id, storage.persona_files(base_url, keys))
        return [storage.url(key) for key in keys]

    # --- Storing ----------------------------------------------------------------------------------------------

    def upload(self, files: list[tuple[str, bytes]]) -> list[Upload]:
        """Start writing files on the pool, once the lease is checked and each file's Content Credentials are read
        back as valid."""
        self.lease.check()
        rows = records.checked(self.unit.task_id, self.result_id, files)
        return [(self.pool.submit(storage.save, key, data), row) for (key, data), row in zip(files, rows, strict=True)]

    @staticmethod
    def finish(uploads: list[Upload]) -> None:
        """Wait for every upload, keep the rows of the files written, then raise the first failed one's error (none
        is left running behind it). A row is kept only for a file that is there."""
        wait([future for future, _ in uploads])
        records.save_rows([row for future, row in uploads if future.exception() is None])
        for future, _ in uploads:
            future.result()

    def store(self, files: list[tuple[str, bytes]]) -> None:
        """Write files in parallel and wait for them: one image with its thumbnails, before its URL is recorded."""
        if files:
            self.finish(self.upload(files))
