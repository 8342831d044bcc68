"""Where the pipeline's files go: the default storage (S3, or local files), under stable keys, so
that a unit that runs twice overwrites its own files instead of adding new ones."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

TILE_EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}


def result_prefix(task_id: str, result_id: int) -> str:
    return f"avatars/{task_id}/{result_id}/"


def base_key(task_id: str, result_id: int, extension: str) -> str:
    return f"{result_prefix(task_id, result_id)}base.{extension}"


def tile_key(task_id: str, result_id: int, position: int) -> str:
    return f"{result_prefix(task_id, result_id)}{position}.{TILE_EXTENSIONS[settings.IMAGE_FORMAT]}"


def save(key: str, data: bytes) -> str:
    """Write `data` at exactly `key` (replacing what is there) and return its public URL."""
    stored = default_storage.save(key, ContentFile(data))
    if stored != key:
        raise RuntimeError(f"Storage renamed {key} to {stored}; it must allow overwriting.")
    return default_storage.url(key)


def url(key: str) -> str:
    return default_storage.url(key)


def exists(key: str) -> bool:
    return default_storage.exists(key)


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as stored:
        return stored.read()


def find_base(task_id: str, result_id: int, stored: Collection[str] | None = None) -> str | None:
    """The key of a base image saved by an earlier run, whatever its extension. `stored`, the keys a listing of the
    result's folder found, spares a request per extension."""
    for extension in ("png", "jpg"):
        key = base_key(task_id, result_id, extension)
        if key in stored if stored is not None else default_storage.exists(key):
            return key
    return None


def list_files(prefix: str) -> list[str]:
    """Keys of the files directly under a folder-like prefix ('' when it does not exist)."""
    try:
        _, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix.rstrip('/')}/{name}" for name in sorted(files)]


def delete_tree(prefix: str) -> int:
    """Delete every file under a prefix (one result's or one task's images); returns how many."""
    deleted = 0
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return 0
    for name in files:
        default_storage.delete(f"{prefix.rstrip('/')}/{name}")
        deleted += 1
    for folder in folders:
        deleted += delete_tree(f"{prefix.rstrip('/')}/{folder}/")
    return deleted
