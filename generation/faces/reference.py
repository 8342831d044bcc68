"""Reference faces for base selfies: image files of each gender in the storage (storage.reference_faces),
picked at random. The listing is cached so it is not listed once per persona."""

from __future__ import annotations

import io
import os
import random
import stat
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import cache
from PIL import Image, UnidentifiedImageError

from generation.integrations import storage

GENDERS = ("f", "m")
LISTING_CACHE_SECONDS = 300
MAX_FACE_BYTES = 20 * 1024 * 1024
MAX_FACE_PIXELS = 40_000_000
MIN_FACE_SIDE = 256
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


class InvalidFace(ValueError):
    pass


def list_faces(gender: str | None) -> list[str]:
    genders = [gender] if gender else list(GENDERS)
    keys: list[str] = []
    for g in genders:
        cache_key = f"faces:listing:{g}"
        listing = cache.get(cache_key)
        if listing is None:
            listing = storage.reference_faces(g)
            cache.set(cache_key, listing, LISTING_CACHE_SECONDS)
        keys.extend(listing)
    return keys


def forget_listing() -> None:
    cache.delete_many([f"faces:listing:{g}" for g in GENDERS])


def pick_face(gender: str | None, exclude: set[str]) -> str | None:
    choices = [key for key in list_faces(gender) if key not in exclude]
    return random.choice(choices) if choices else None


def check_face(data: bytes) -> str:
    """Accept only a real, decodable image of a sensible size; return its file extension."""
    if len(data) > MAX_FACE_BYTES:
        raise InvalidFace(f"larger than {MAX_FACE_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            if width * height > MAX_FACE_PIXELS:
                raise InvalidFace(f"{width}x{height} is more than {MAX_FACE_PIXELS:,} pixels")
            image.load()  # decodes every pixel: verify() does not read JPEG data, so a truncated one passed
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise InvalidFace("not a readable image") from error
    if kind not in FORMATS:
        raise InvalidFace(f"{kind} images are not accepted (JPEG, PNG or WebP)")
    if min(width, height) < MIN_FACE_SIDE:
        raise InvalidFace(f"{width}x{height} is smaller than {MIN_FACE_SIDE}px on a side")
    return FORMATS[kind]


@dataclass
class ImportReport:
    added: list[str]
    already_there: list[str]
    rejected: list[tuple[str, str]]


def read_face_file(path: Path) -> bytes:
    """The bytes of a regular file in the folder, checked from the file system before anything is read: a
    symbolic link is not followed (it could point anywhere, /etc/passwd included), and a pipe, a folder or a file
    over MAX_FACE_BYTES is refused by its kind or size. The file is opened without following a link and without
    blocking, so nothing swapped in between the check and the read gets further."""
    try:
        info = path.lstat()
    except OSError as error:
        raise InvalidFace(f"cannot be read ({error.strerror})") from error
    if stat.S_ISLNK(info.st_mode):
        raise InvalidFace("a symbolic link; links are not followed")
    if stat.S_ISDIR(info.st_mode):
        raise InvalidFace("a folder; folders are not searched")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidFace("not a regular file (a pipe, socket or device)")
    if info.st_size > MAX_FACE_BYTES:
        raise InvalidFace(f"larger than {MAX_FACE_BYTES // (1024 * 1024)} MB")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise InvalidFace(f"cannot be read ({error.strerror})") from error
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise InvalidFace("not a regular file (a pipe, socket or device)")
        return file.read(MAX_FACE_BYTES + 1)


def import_faces(folder: Path, gender: str) -> ImportReport:
    """Upload the images of a folder to faces/<gender>/, named by content so a second import of the same files adds
    nothing. Every entry that is not imported is listed with its reason."""
    if gender not in GENDERS:
        raise ValueError(f"Gender must be one of {', '.join(GENDERS)}.")
    report = ImportReport([], [], [])
    for path in sorted(folder.iterdir()):
        try:
            data = read_face_file(path)
            extension = check_face(data)
        except InvalidFace as problem:
            report.rejected.append((path.name, str(problem)))
            continue
        if storage.store_reference_face(gender, data, extension):
            report.added.append(path.name)
        else:
            report.already_there.append(path.name)
    forget_listing()
    return report
