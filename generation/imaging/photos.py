"""Stored photos: tiles cut from a grid or a photo fitted to a tile, encoded once with their XMP, and their WebP
thumbnails. Pure functions, no Django: the hot path of a batch, benchmarked on its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from io import BytesIO

from PIL import Image, ImageOps

from generation.imaging.looks import LOOK_ACTIONS, apply_look, random_look, trim_white_borders
from generation.imaging.metadata import xmp_packet
from generation.imaging.tiles import find_tile_boxes, flatten

IMAGE_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}

# Thumbnails: WebP, for pages that show images at 70-250 CSS px. libwebp's method is its effort, 0 (fast) to 6. On
# real photos (bench/grid.py) 2 is the knee: 18 % smaller files than 0 for 4 ms more per tile, where 4 (the default)
# takes twice as long again for 4 % less.
THUMBNAIL_QUALITY = 75
THUMBNAIL_METHOD = 2
# Pillow's `reducing_gap`: a resize first averages whole blocks of pixels (Image.reduce), then filters what is left.
# At 1.0 the filter's share is smallest; bench/grid.py measured the thumbnails it gives against LANCZOS alone.
THUMBNAIL_REDUCING_GAP = 1.0


@dataclass(frozen=True)
class Photo:
    """One image as it is stored, and its WebP thumbnails by width (none when none were asked for). `made_from`: the
    image the model returned that this was cut or fitted from, and what was done to it (C2PA action names), which
    its Content Credentials record; None for an image stored as the model made it."""

    data: bytes
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    made_from: Derivation | None = None


@dataclass(frozen=True)
class Derivation:
    title: str
    source: bytes = field(repr=False)
    steps: tuple[str, ...]


def split_grid(
    data: bytes, cols: int, rows: int, *, image_format: str = "jpeg", quality: int = 90, description: str = ""
) -> list[bytes]:
    """Cut a generated grid into its tiles, encoded as JPEG or WebP, each marked as AI-generated."""
    photos = split_grid_photos(data, cols, rows, image_format=image_format, quality=quality, description=description)
    return [photo.data for photo in photos]


def split_grid_photos(
    data: bytes,
    cols: int,
    rows: int,
    *,
    thumbnail_widths: Iterable[int] = (),
    image_format: str = "jpeg",
    quality: int = 90,
    description: str = "",
    trim_white: bool = False,
    look_seeds: Sequence[str] | None = None,
) -> list[Photo]:
    """Cut a generated grid into its tiles, encoded as JPEG or WebP, each marked as AI-generated, with a WebP
    thumbnail of each tile at each of `thumbnail_widths`.

    The source is decoded once, and each tile encoded once and its thumbnails made from the same crop (this is the
    hot path of a batch). Tiles keep the source's ICC profile, so colours do not shift, but none of its EXIF, XMP or
    comments. With `trim_white`, each tile loses its plain near-white borders too (looks.trim_white_borders); with
    `look_seeds` (one per tile), each gets the phone-camera look drawn from its seed, and that look's JPEG quality.
    """
    pillow_format = IMAGE_FORMATS.get(image_format.lower())
    if pillow_format is None:
        raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, not {image_format!r}")
    packet = xmp_packet(description)
    widths = tuple(thumbnail_widths)
    cut = Derivation("photo grid", data, ("c2pa.cropped",))
    styled = Derivation("photo grid", data, ("c2pa.cropped", *LOOK_ACTIONS))
    with Image.open(BytesIO(data)) as source:
        source.load()
        ImageOps.exif_transpose(source, in_place=True)  # the grid is laid out as the image is seen
        icc_profile = source.info.get("icc_profile")
        image = flatten(source)
        image.info = {}  # crops copy info, and the JPEG encoder would copy a source comment from it
        boxes = find_tile_boxes(image, cols, rows)
        photos = []
        for n, box in enumerate(boxes):
            out = BytesIO()
            params: dict[str, object] = {"quality": quality, "xmp": packet}
            if icc_profile:
                params["icc_profile"] = icc_profile
            tile = image.crop(box.as_tuple())
            if trim_white:
                tile = trim_white_borders(tile) or tile
            if look_seeds:
                look = random_look(look_seeds[n])
                tile, params["quality"] = apply_look(tile, look, look_seeds[n]), look.quality
            tile.save(out, pillow_format, **params)
            thumbnails = make_thumbnails(tile, widths, xmp=packet, icc_profile=icc_profile) if widths else {}
            photos.append(Photo(out.getvalue(), thumbnails, styled if look_seeds else cut))
    return photos


def fit_tile(
    data: bytes,
    size: tuple[int, int],
    *,
    thumbnail_widths: Iterable[int] = (),
    image_format: str = "jpeg",
    quality: int = 90,
    description: str = "",
    trim_white: bool = False,
    look_seed: str | None = None,
) -> Photo:
    """A single photo made to stand in for one tile: scaled and centre-cropped to the tile's size (and trimmed of
    plain near-white borders with `trim_white`, given the look drawn from `look_seed`), encoded as the tiles are
    (thumbnails too), and marked as AI-generated."""
    packet = xmp_packet(description)
    widths = tuple(thumbnail_widths)
    with Image.open(BytesIO(data)) as source:
        source.load()
        ImageOps.exif_transpose(source, in_place=True)
        image = ImageOps.fit(flatten(source), size, Image.Resampling.LANCZOS)
        if trim_white:
            image = trim_white_borders(image) or image
        steps: tuple[str, ...] = ("c2pa.resized", "c2pa.cropped")
        if look_seed:
            look = random_look(look_seed)
            image, quality, steps = apply_look(image, look, look_seed), look.quality, (*steps, *LOOK_ACTIONS)
        image.info = {}
        out = BytesIO()
        image.save(out, IMAGE_FORMATS[image_format.lower()], quality=quality, xmp=packet)
        thumbnails = make_thumbnails(image, widths, xmp=packet) if widths else {}
        return Photo(out.getvalue(), thumbnails, Derivation("photo", data, steps))


# --- Thumbnails -------------------------------------------------------------------------------------------------


def make_thumbnails(
    image: Image.Image, widths: Iterable[int], *, xmp: bytes, icc_profile: bytes | None = None
) -> dict[int, bytes]:
    """WebP thumbnails of an image already decoded, one per width, keeping its aspect and never enlarging it (an
    image narrower than a width is stored at its own size, so that every width has its file). Each carries the
    image's XMP, which says it is AI-generated.

    The widest is made first and each narrower one from it rather than from the full image: fewer pixels to filter
    (a 1024 px base costs a third as much to bring down to 256 px from 512 as from 1024)."""
    params: dict[str, object] = {"quality": THUMBNAIL_QUALITY, "method": THUMBNAIL_METHOD, "xmp": xmp}
    if icc_profile:
        params["icc_profile"] = icc_profile
    rgb = flatten(image)
    made: dict[int, bytes] = {}
    for width in sorted(set(widths), reverse=True):
        if width < 1:
            raise ValueError(f"a thumbnail must be at least 1 px wide, not {width}")
        if width < rgb.width:
            size = (width, max(1, round(rgb.height * width / rgb.width)))
            rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=THUMBNAIL_REDUCING_GAP)
        out = BytesIO()
        rgb.save(out, "WEBP", **params)
        made[width] = out.getvalue()
    return made


def thumbnails_of(data: bytes, widths: Iterable[int]) -> dict[int, bytes]:
    """Thumbnails of an encoded image that is not decoded yet (a base as the API sent it, or an image stored before
    its thumbnails were made), carrying that image's own XMP, read in the same decode. Raises UnidentifiedImageError
    or OSError for a file that is not a readable image."""
    with Image.open(BytesIO(data)) as source:
        source.load()  # a PNG's chunks after its pixel data are read too
        xmp = source.info.get("xmp")
        packet = (xmp.encode("utf-8") if isinstance(xmp, str) else xmp) or xmp_packet()
        icc_profile = source.info.get("icc_profile")
        ImageOps.exif_transpose(source, in_place=True)
        return make_thumbnails(source, widths, xmp=packet, icc_profile=icc_profile)
