"""Small builders for test data. They go through the models' own code paths (the user manager,
the task's id generation) rather than raw rows."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from PIL import Image

from accounts.models import User
from generation.imaging.photos import Derivation, Photo, thumbnails_of
from generation.integrations import provenance, storage
from generation.integrations.provenance import records
from generation.models import GenerationResult, GenerationTask

_sequence = itertools.count(1)
FAKE_CDN = "https://cdn.example.com/"  # the rows of make_result point there, under our keys, with no file behind


def make_user(email: str | None = None, password: str | None = None, **fields) -> User:
    """A user; without a password it gets an unusable one (hashing costs ~0.2 s a user)."""
    return User.objects.create_user(email or f"user{next(_sequence)}@example.com", password, **fields)


def make_superuser(email: str | None = None, password: str = "correct horse battery") -> User:
    return User.objects.create_superuser(email or f"admin{next(_sequence)}@example.com", password)


def make_task(user: User | None = None, **fields) -> GenerationTask:
    values = {
        "persona_description": "Amateur cyclists in their thirties who live in Lyon",
        "bio_language": "French",
        "number_to_generate": 10,
        "images_per_persona": 4,
    } | fields
    return GenerationTask.objects.create(user=user or make_user(), **values)


def make_result(task: GenerationTask, n: int | None = None, **fields) -> GenerationResult:
    n = n or next(_sequence)
    values = {
        "batch_number": 1,
        "firstname": f"Camille{n}",
        "lastname": f"Martin{n}",
        "gender": "f",
        "bio_facebook": "Cycliste du dimanche | Lyon",
        "bio_instagram": "🚴 Lyon · café · col du Galibier",
        "bio_x": "Je parle vélo, pluie et pâtisseries.",
        "bio_tiktok": "Mes sorties vélo en 60 s 🚲",
        "base_image_url": f"{FAKE_CDN}{storage.result_prefix(task.task_code, n)}base.png",
        "images": [f"{FAKE_CDN}{storage.result_prefix(task.task_code, n)}{i}.jpg" for i in range(1, 5)],
    } | fields
    return GenerationResult.objects.create(task=task, **values)


@dataclass(frozen=True)
class PhotoSet:
    """A persona's files as the pipeline stores them, encoded once and stored for as many personas as a test needs:
    a real-size base JPEG and tiles, each with its thumbnails."""

    base: bytes
    base_thumbnails: dict[int, bytes]
    tile: bytes
    tile_thumbnails: dict[int, bytes]

    @classmethod
    def of(cls, person: Image.Image, base_size: int = 1024, tile_size: int = 512, quality: int = 90) -> PhotoSet:
        def encode(size: int) -> bytes:
            buffer = io.BytesIO()
            person.convert("RGB").resize((size, size)).save(buffer, "JPEG", quality=quality)
            return buffer.getvalue()

        base, tile = encode(base_size), encode(tile_size)
        widths = storage.THUMBNAIL_WIDTHS
        return cls(base, thumbnails_of(base, widths), tile, thumbnails_of(tile, widths))


def make_stored_result(task: GenerationTask, photos: PhotoSet, tiles: int = 4, **fields) -> GenerationResult:
    """A persona whose base and tiles are stored in the default storage (local folder, or the test's bucket),
    signed and recorded as the pipeline does (the tiles as if cut from the base)."""
    result = make_result(task, base_image_url=None, images=None, **fields)
    origin = provenance.Origin.of(task.task_code, result.pk)
    base = storage.base_key(task.task_code, result.pk, "jpg")
    files = provenance.signed_files(base, Photo(photos.base, photos.base_thumbnails), origin)
    urls = []
    tile = Photo(photos.tile, photos.tile_thumbnails, Derivation("photo grid", photos.base, ("c2pa.cropped",)))
    for position in range(1, tiles + 1):
        key = storage.tile_key(task.task_code, result.pk, position)
        files += provenance.signed_files(key, tile, origin)
        urls.append(storage.url(key))
    rows = records.checked(task.pk, result.pk, files)
    for key, data in files:
        storage.save(key, data)
    records.save_rows(rows)
    result.base_image_url, result.images = storage.url(base), urls
    result.save(update_fields=["base_image_url", "images"])
    return result


def make_stored_personas(task: GenerationTask, count: int, base: bytes, tile: bytes, tiles: int = 4) -> list:
    """`count` personas whose base and tiles are in the default storage, as rows and files only (not signed, no
    face checks, no thumbnails): what an export reads, made in a fraction of the pipeline's time."""
    results = GenerationResult.objects.bulk_create(
        GenerationResult(task=task, batch_number=n // 5 + 1, firstname=f"Camille{n}", lastname=f"Martin{n}",
                         gender="fm"[n % 2], bio_x=f"Persona {n} of {count}")
        for n in range(count)
    )  # fmt: skip
    for result in results:
        key = storage.base_key(task.task_code, result.pk, "jpg")
        storage.save(key, base)
        result.base_image_url, result.images = storage.url(key), []
        for position in range(1, tiles + 1):
            key = storage.tile_key(task.task_code, result.pk, position)
            storage.save(key, tile)
            result.images.append(storage.url(key))
    GenerationResult.objects.bulk_update(results, ["base_image_url", "images"])
    return results
