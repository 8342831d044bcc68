"""Where the pipeline's files go: the default storage (S3, or local files), under stable keys, so
that a unit that runs twice overwrites its own files instead of adding new ones."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlparse, urlsplit, urlunsplit

from boto3.s3.transfer import TransferConfig
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, is_seekable

TILE_EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}
# Every stored image has a WebP thumbnail of each of these widths beside it (see thumbnail_key).
THUMBNAIL_WIDTHS = (256, 512)


class PutObjectS3Storage(S3Storage):
    """django-storages' S3 storage, writing each file with one PutObject through the shared, thread-safe client.

    The stock `_save` builds a boto3 resource object and an s3transfer manager for every file: boto3 makes a new
    resource class each time, which cost more CPU than the upload itself (bench/pipeline.py, profiled with
    py-spy: 60 % of a worker's busy time went to storing nine images a persona). Our files are images of well
    under the multipart threshold, so one call does; compressed uploads are not used here."""

    def _save(self, name: str, content) -> str:
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        if is_seekable(content):
            content.seek(0)
        self.bucket.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=content.read(), **params)
        return cleaned


def task_prefix(task_code: str) -> str:
    return f"avatars/{task_code}/"


def task_code_of(key: str) -> str | None:
    """The task whose persona files a key names (avatars/<task code>/…); None for any other key."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "avatars" and parts[1] else None


def result_prefix(task_code: str, result_id: int) -> str:
    return f"{task_prefix(task_code)}{result_id}/"


# Files made again on an operator's request get keys of their own ("3.v41.jpg": made by unit 41), so that a CDN
# never serves the old image under the new URL. The first files of a persona have none ("3.jpg").


_VERSION = re.compile(r"v\d+")


def _versioned(name: str, version: str) -> str:
    if version and not _VERSION.fullmatch(version):  # so that no image key can look like a thumbnail's
        raise ValueError(f"a version is 'v' and a unit's number, not {version!r}")
    return f"{name}.{version}" if version else name


def base_key(task_code: str, result_id: int, extension: str, version: str = "") -> str:
    return f"{result_prefix(task_code, result_id)}{_versioned('base', version)}.{extension}"


def tile_key(task_code: str, result_id: int, position: int, version: str = "") -> str:
    extension = TILE_EXTENSIONS[settings.IMAGE_FORMAT]
    return f"{result_prefix(task_code, result_id)}{_versioned(str(position), version)}.{extension}"


def key_from_url(url: str | None) -> str | None:
    """The storage key behind one of our public URLs: avatars/<task code>/<result>/<file>; None for anything else.

    Only this module turns a URL into a key (tests check keys with it too): the rest of the code asks for a stored
    image by the URL its row keeps, with the functions below (tests/test_one_storage_api.py keeps it so)."""
    if not url:
        return None
    match = re.search(r"avatars/[^/]+/\d+/[^/?#]+$", urlparse(url).path)
    return match.group(0) if match else None


# --- A persona's stored images, by the URLs its row keeps --------------------------------------------------------


def is_stored_image(url: str | None) -> bool:
    """Whether the URL is one of our stored images (not a link to elsewhere, nor nothing)."""
    return key_from_url(url) is not None


def stored_images(result) -> list[tuple[str, str | None]]:
    """(URL, key) of each image the persona's row points to, its base first; the key is None for a URL that is not
    one of our stored images."""
    return [(url, key_from_url(url)) for url in filter(None, [result.base_image_url, *(result.images or [])])]


def keys_of(result) -> set[str]:
    """The keys of the persona's stored images (its base and photos, not their thumbnails)."""
    return {key for _, key in stored_images(result) if key}


def persona_files(base_url: str | None, tile_keys: Iterable[str]) -> set[str]:
    """The keys of every file of a persona whose images unit has just stored its tiles: its base (by its URL), the
    tiles, and the thumbnails of each."""
    return with_thumbnail_keys([key_from_url(base_url), *tile_keys])


def read_image(url: str) -> bytes:
    """The bytes of one of our stored images, by its URL (FileNotFoundError when the file is gone)."""
    key = key_from_url(url)
    if key is None:
        raise ValueError(f"{url} is not one of this product's image URLs")
    return read(key)


def open_image(url: str) -> IO[bytes] | None:
    """One of our stored images opened for reading, by its URL; None for a URL not ours or a file that is gone."""
    key = key_from_url(url)
    if not key or not default_storage.exists(key):
        return None
    return default_storage.open(key, "rb")


def image_extension(url: str, default: str) -> str:
    """The file extension (".jpg") an image's URL ends in, `default` when it has none."""
    return posixpath.splitext(urlparse(url).path)[1] or default


def search_key(term: str) -> str:
    """What a search for files means by a term: the key behind one of our URLs, or the term itself (a key, or the
    start of one)."""
    return key_from_url(term) or term


# Thumbnails sit beside their image, named from its key without the extension: "3.jpg" -> "3.thumb256.webp",
# "3.v41.jpg" -> "3.v41.thumb256.webp", "base.png" -> "base.thumb512.webp". Image names are "base" or a position,
# then at most a version "v<unit>", then the extension, so no image key ends in ".thumb<width>.webp"; a listing of
# a result's folder tells the two apart, and prune_result keeps a kept image's thumbnails.
_THUMBNAIL_SUFFIX = re.compile(r"\.thumb\d+\.webp$")


def is_thumbnail(key: str) -> bool:
    return bool(_THUMBNAIL_SUFFIX.search(key))


def thumbnail_key(key: str, width: int) -> str:
    """The key of the thumbnail `width` px wide of the image stored at `key` (of a thumbnail: its sibling)."""
    if width not in THUMBNAIL_WIDTHS:
        raise ValueError(f"thumbnails are {THUMBNAIL_WIDTHS} px wide, not {width}")
    folder, _, name = key.rpartition("/")
    stem = _THUMBNAIL_SUFFIX.sub("", name) if is_thumbnail(name) else name.rpartition(".")[0] or name
    return f"{folder}/{stem}.thumb{width}.webp" if folder else f"{stem}.thumb{width}.webp"


def thumbnail_keys(key: str) -> list[str]:
    """The keys of all the image's thumbnails, narrowest first."""
    return [thumbnail_key(key, width) for width in THUMBNAIL_WIDTHS]


def with_thumbnail_keys(keys: Iterable[str | None]) -> set[str]:
    """The keys of these images (None skipped) and of their thumbnails."""
    kept = {key for key in keys if key}
    return kept | {thumbnail for key in kept for thumbnail in thumbnail_keys(key)}


def thumbnail_url(image_url: str, width: int) -> str:
    """The public URL of an image's thumbnail `width` px wide (one of THUMBNAIL_WIDTHS), for `srcset`. A URL that
    is not one of ours (no key of ours in it) comes back as it is: there is no thumbnail to show instead.

    The thumbnail sits beside the image, so its URL is the image's with the file name changed: the same host the
    image is served from, and no storage call per URL (S3Storage.url has botocore build a URL, about 75 µs against
    5 µs here, and a gallery page asks for hundreds)."""
    if width not in THUMBNAIL_WIDTHS:  # a wrong width is a bug, whoever's the URL
        raise ValueError(f"thumbnails are {THUMBNAIL_WIDTHS} px wide, not {width}")
    return thumbnail_urls(image_url)[width]


def thumbnail_urls(image_url: str) -> dict[int, str]:
    """thumbnail_url for every width in THUMBNAIL_WIDTHS, the URL read once: a gallery page shows hundreds."""
    key = key_from_url(image_url)
    parts = urlsplit(image_url)
    if key is None or not parts.path.endswith(key):
        return dict.fromkeys(THUMBNAIL_WIDTHS, image_url)
    folder = parts.path[: len(parts.path) - len(key.rpartition("/")[2])]
    return {
        width: urlunsplit(parts._replace(path=folder + thumbnail_key(key, width).rpartition("/")[2]))
        for width in THUMBNAIL_WIDTHS
    }


def image_files(key: str, data: bytes, thumbnails: Mapping[int, bytes]) -> list[tuple[str, bytes]]:
    """(key, bytes) of everything stored for one image: itself and its thumbnails. Every writer of images stores
    these through save(), the one way a file is written."""
    missing = set(THUMBNAIL_WIDTHS) - set(thumbnails)
    if missing:
        raise ValueError(f"{key} lacks its thumbnails {sorted(missing)} px wide")
    return [(key, data), *((thumbnail_key(key, width), thumbnails[width]) for width in THUMBNAIL_WIDTHS)]


def save(key: str, data: bytes) -> None:
    """Write `data` at exactly `key` (replacing what is there). No URL is made here: S3Storage builds URLs with a
    boto3 client of each thread's own, costly to create in the pipeline's upload threads."""
    stored = default_storage.save(key, ContentFile(data))
    if stored != key:
        raise RuntimeError(f"Storage renamed {key} to {stored}; it must allow overwriting.")


def make_clients() -> None:
    """Create the storage's clients now, without a request: S3Storage makes them on first use (a boto3 session and
    its service models, about 0.3 s of CPU), and URLs come from a client of their own."""
    default_storage.url(result_prefix("warm-up", 0))
    getattr(default_storage, "bucket", None)  # S3: the resource its writes go through


def url(key: str) -> str:
    return default_storage.url(key)


def exists(key: str) -> bool:
    return default_storage.exists(key)


def read(key: str) -> bytes:
    with default_storage.open(key, "rb") as stored:
        return stored.read()


def find_base(task_code: str, result_id: int, stored: Collection[str] | None = None, version: str = "") -> str | None:
    """The key of a base image saved by an earlier run, whatever its extension. `stored`, the keys a listing of the
    result's folder found, spares a request per extension."""
    for extension in ("png", "jpg"):
        key = base_key(task_code, result_id, extension, version)
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


def delete_task_files(task_code: str) -> int:
    """Delete a task's persona files and its prepared ZIPs; returns how many persona files were removed."""
    removed = delete_tree(task_prefix(task_code))
    delete_tree(export_prefix(task_code))
    return removed


def prune_result(task_code: str, result_id: int, keep: Collection[str | None]) -> int:
    """Delete the persona's files that no row points to any more (those an operator's request replaced), with
    their thumbnails; a kept image keeps its thumbnails. Returns how many files were deleted."""
    kept = with_thumbnail_keys(keep)
    pruned = 0
    for key in list_files(result_prefix(task_code, result_id)):
        if key not in kept:
            default_storage.delete(key)
            pruned += 1
    return pruned


# A task's prepared ZIP sits outside `avatars/` (the prefix a bucket policy may make public): it is handed out
# only through the export view, as a presigned link on S3. Each build writes a key of its own, so a build cut off
# midway never leaves a half file where a finished one is read.


def export_prefix(task_code: str) -> str:
    return f"exports/{task_code}/"


def export_key(task_code: str, build_token: str) -> str:
    return f"{export_prefix(task_code)}{build_token}.zip"


SEQUENTIAL_UPLOAD = TransferConfig(use_threads=False)


def save_export(key: str, spooled: IO[bytes], progress: Callable[[int], None] | None = None) -> int:
    """Store a prepared ZIP from an open file, in pieces (a multipart upload on S3: our one-call `_save` would read
    all of it into memory). `progress` is called as pieces go up to S3 (what it raises stops the upload), in the
    calling thread: the pieces go up one after another, so the caller's heartbeat writes with its own database
    connection, not one per s3transfer thread that nothing closes. Returns its size in bytes."""
    size = spooled.seek(0, 2)
    spooled.seek(0)
    if isinstance(default_storage, S3Storage):
        name = default_storage._normalize_name(clean_name(key))
        extra = {"ContentType": "application/zip"}
        client = default_storage.bucket.meta.client
        client.upload_fileobj(spooled, default_storage.bucket_name, name, ExtraArgs=extra, Callback=progress,
                              Config=SEQUENTIAL_UPLOAD)  # fmt: skip
        return size
    stored = default_storage.save(key, File(spooled))
    if stored != key:
        raise RuntimeError(f"Storage renamed {key} to {stored}; it must allow overwriting.")
    return size


def download_link(key: str, filename: str) -> str | None:
    """A link that hands the file straight from S3 to the browser (presigned, so private files work too, and
    valid EXPORT_LINK_SECONDS), or None for local files, which the web server itself has to send."""
    if not isinstance(default_storage, S3Storage):
        return None
    params = {
        "Bucket": default_storage.bucket_name,
        "Key": default_storage._normalize_name(clean_name(key)),
        "ResponseContentDisposition": f'attachment; filename="{filename}"',
        "ResponseContentType": "application/zip",
    }
    client = default_storage.connection.meta.client
    return client.generate_presigned_url("get_object", Params=params, ExpiresIn=settings.EXPORT_LINK_SECONDS)


def export_files(task_code: str) -> list[tuple[str, datetime]]:
    """The task's prepared ZIPs in storage with when each was written, oldest first."""
    written = [(key, default_storage.get_modified_time(key)) for key in list_files(export_prefix(task_code))]
    return sorted(written, key=lambda item: item[1])


# Reference faces (faces/<gender>/<digest>.<ext>), named by their content so that importing a file twice stores it
# once.


def reference_faces(gender: str) -> list[str]:
    """The keys of the stored reference faces of one gender ("f" or "m")."""
    return list_files(f"faces/{gender}/")


def store_reference_face(gender: str, data: bytes, extension: str) -> bool:
    """Store a reference face under a key made from its bytes; False when the same image is stored already."""
    key = f"faces/{gender}/{hashlib.sha256(data).hexdigest()[:20]}.{extension}"
    if exists(key):
        return False
    save(key, data)
    return True


def answers() -> None:
    """Ask the storage a cheap question (is there a probe file?); raises what the storage raises when it does not
    answer. For /healthz."""
    default_storage.exists("healthz/probe")


def local_path(key: str) -> Path | None:
    """Where the file at `key` is on this machine when the storage is local files; None on S3. For the bench, which
    lays out many personas' files as hard links instead of writing each."""
    if isinstance(default_storage, S3Storage):
        return None
    return Path(default_storage.path(key))


def open_file(key: str) -> IO[bytes]:
    return default_storage.open(key, "rb")


def delete(key: str) -> None:
    default_storage.delete(key)
