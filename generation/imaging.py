"""Grid splitting and provenance metadata for generated images.

The image model is asked for one picture laid out as cols×rows photos of the same person. It never draws exact grid
lines: the gutters are white bands of uneven width, off the exact middle, sometimes with white borders around the
outside. We find them from the pixels (cheap row/column brightness profiles) instead of cutting blindly at the halves.

Every image we store says it is AI-generated (IPTC "trainedAlgorithmicMedia" in XMP) and carries no camera-style
EXIF. Pure functions, no Django: this runs thousands of times per batch and is benchmarked on its own.
"""

from __future__ import annotations

import array
import bisect
import functools
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from xml.sax.saxutils import escape

from PIL import Image, ImageOps, UnidentifiedImageError

AI_SOFTWARE = "Avatar Data Generator"
# IPTC digital source type for media made by a trained model:
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# Gutter detection. A pixel is "bright" from this grey level up (JPEG noise keeps white gutters a little under 255).
BRIGHT_LEVEL = 235
# A column (row) is gutter or border when at least this fraction of it is bright: a white wall inside one photo
# never spans the whole height of the grid, a gutter does.
GUTTER_FRACTION = 0.97
# Inner cuts are looked for this far (fraction of the content size) either side of the equal-cut position.
SEARCH_WINDOW = 0.12
# A tile narrower (shorter) than this fraction of the equal tile size means the cuts are wrong: cut equally instead.
MIN_TILE_FRACTION = 0.6
# Trimming that would leave less than this fraction of the image is a mostly white picture, not a border: keep it.
MIN_CONTENT_FRACTION = 0.5

IMAGE_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}

# Thumbnails: WebP, for pages that show images at 70-250 CSS px. libwebp's method is its effort, 0 (fast) to 6. On
# real photos (bench/grid.py) 2 is the knee: 18 % smaller files than 0 for 4 ms more per tile, where 4 (the default)
# takes twice as long again for 4 % less.
THUMBNAIL_QUALITY = 75
THUMBNAIL_METHOD = 2

_BRIGHT_TABLE = [255 if level >= BRIGHT_LEVEL else 0 for level in range(256)]
# A BOX-resized mask holds the bright fraction as 0..255; map each byte to 1 (gutter) or 0 so runs are a regex.
_GUTTER_BYTES = bytes(1 if level >= round(GUTTER_FRACTION * 255) else 0 for level in range(256))
_GUTTER_RUN = re.compile(b"\x01+")
_ROW_BLOCK = 16  # rows averaged together first when profiling columns
# Profiles are first estimated from a sample of _SAMPLES rows (columns) spread over the image: a gutter column is
# bright in every sampled row, a photo's column in few, so the estimate can only err where the bright fraction is close
# to GUTTER_FRACTION, which is next to where the estimate flips between gutter and not. There (_EXACT_BAND positions
# either side of each flip, and of both ends) the levels are measured exactly, from every pixel.
_SAMPLES = 64
_EXACT_BAND = 4
# More flips than this (a busy, bright picture): measure the whole profile exactly, as that is then no dearer.
_MAX_FLIPS = 24

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
# Text chunks we replace (ours) or drop (EXIF/XMP smuggled in by other tools, e.g. ImageMagick's raw profiles).
_PNG_DROPPED_KEYWORDS = {
    _PNG_XMP_KEYWORD,
    b"Software",
    b"Raw profile type exif",
    b"Raw profile type APP1",
    b"Raw profile type xmp",
}
_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_EXTENDED_XMP_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
_JPEG_EXIF_HEADER = b"Exif\x00\x00"
_JPEG_FLASHPIX_HEADER = b"FPXR\x00"  # EXIF's FlashPix extension: camera data as well
_JPEG_MAX_SEGMENT = 65535  # the length field counts itself: 2 + payload
_SOS, _APP0, _APP1, _APP2 = 0xDA, 0xE0, 0xE1, 0xE2
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # no length field
_ORIENTATION = 0x0112
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Box:
    """A pixel box in Pillow's convention (left, top, right, bottom), right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        """What Image.crop takes."""
        return (self.left, self.top, self.right, self.bottom)


# --- Grid splitting ---------------------------------------------------------------------------------------------


def find_tile_boxes(image: Image.Image, cols: int, rows: int) -> list[Box]:
    """Tiles in reading order (row by row, left to right). Finds the gutters from row and column brightness.

    Outer white borders are trimmed; each inner cut is the white band nearest the equal-cut position (the band belongs
    to neither tile), or the equal-cut position itself when no band is near. An axis whose cuts would leave a tile far
    too small is cut equally instead.
    """
    if cols < 1 or rows < 1:
        raise ValueError(f"a grid needs at least one column and one row, not {cols}×{rows}")
    width, height = image.size
    if width < cols or height < rows:
        raise ValueError(f"a {width}×{height} image cannot hold {cols}×{rows} tiles")

    profiles = _Profiles(image)
    # Borders first, from whole-image profiles: a border column is bright top to bottom.
    whole = (0, 0, width, height)
    column_levels, row_levels = profiles.levels(whole, _COLUMNS), profiles.levels(whole, _ROWS)
    left, right = _trim(column_levels, cols)
    top, bottom = _trim(row_levels, rows)
    # Then the inner gutters, from profiles of the content alone, so border pixels do not count towards a gutter. A
    # column's profile depends on the rows only: without a top or bottom border, it is the whole image's.
    content = (left, top, right, bottom)
    column_levels = column_levels[left:right] if (top, bottom) == (0, height) else profiles.levels(content, _COLUMNS)
    row_levels = row_levels[top:bottom] if (left, right) == (0, width) else profiles.levels(content, _ROWS)
    col_spans = _axis_spans(column_levels, left, cols)
    row_spans = _axis_spans(row_levels, top, rows)
    return [Box(x0, y0, x1, y1) for y0, y1 in row_spans for x0, x1 in col_spans]


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
) -> list[Photo]:
    """Cut a generated grid into its tiles, encoded as JPEG or WebP, each marked as AI-generated, with a WebP
    thumbnail of each tile at each of `thumbnail_widths`.

    The source is decoded once, and each tile encoded once and its thumbnails made from the same crop (this is the
    hot path of a batch). Tiles keep the source's ICC profile, so colours do not shift, but none of its EXIF, XMP or
    comments.
    """
    pillow_format = IMAGE_FORMATS.get(image_format.lower())
    if pillow_format is None:
        raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, not {image_format!r}")
    packet = xmp_packet(description)
    widths = tuple(thumbnail_widths)
    grid = Derivation("photo grid", data, ("c2pa.cropped",))
    with Image.open(BytesIO(data)) as source:
        source.load()
        ImageOps.exif_transpose(source, in_place=True)  # the grid is laid out as the image is seen
        icc_profile = source.info.get("icc_profile")
        image = _flatten(source)
        image.info = {}  # crops copy info, and the JPEG encoder would copy a source comment from it
        boxes = find_tile_boxes(image, cols, rows)
        photos = []
        for box in boxes:
            out = BytesIO()
            params: dict[str, object] = {"quality": quality, "xmp": packet}
            if icc_profile:
                params["icc_profile"] = icc_profile
            tile = image.crop(box.as_tuple())
            tile.save(out, pillow_format, **params)
            thumbnails = make_thumbnails(tile, widths, xmp=packet, icc_profile=icc_profile) if widths else {}
            photos.append(Photo(out.getvalue(), thumbnails, grid))
    return photos


def fit_tile(
    data: bytes,
    size: tuple[int, int],
    *,
    thumbnail_widths: Iterable[int] = (),
    image_format: str = "jpeg",
    quality: int = 90,
    description: str = "",
) -> Photo:
    """A single photo made to stand in for one tile: scaled and centre-cropped to the tile's size, encoded as the
    tiles are (thumbnails too), and marked as AI-generated."""
    packet = xmp_packet(description)
    widths = tuple(thumbnail_widths)
    with Image.open(BytesIO(data)) as source:
        source.load()
        ImageOps.exif_transpose(source, in_place=True)
        image = ImageOps.fit(_flatten(source), size, Image.Resampling.LANCZOS)
        image.info = {}
        out = BytesIO()
        image.save(out, IMAGE_FORMATS[image_format.lower()], quality=quality, xmp=packet)
        thumbnails = make_thumbnails(image, widths, xmp=packet) if widths else {}
        return Photo(out.getvalue(), thumbnails, Derivation("photo", data, ("c2pa.resized", "c2pa.cropped")))


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
    rgb = _flatten(image)
    made: dict[int, bytes] = {}
    for width in sorted(set(widths), reverse=True):
        if width < 1:
            raise ValueError(f"a thumbnail must be at least 1 px wide, not {width}")
        if width < rgb.width:
            rgb = rgb.resize((width, max(1, round(rgb.height * width / rgb.width))), Image.Resampling.LANCZOS)
        out = BytesIO()
        rgb.save(out, "WEBP", **params)
        made[width] = out.getvalue()
    return made


def thumbnails_of(data: bytes, widths: Iterable[int]) -> dict[int, bytes]:
    """Thumbnails of an encoded image that is not decoded yet (a base as the API sent it, or an image stored before
    its thumbnails were made), carrying that image's own XMP. Raises UnidentifiedImageError or OSError for a file
    that is not a readable image."""
    packet = (read_xmp(data) or "").encode("utf-8") or xmp_packet()
    with Image.open(BytesIO(data)) as source:
        source.load()
        ImageOps.exif_transpose(source, in_place=True)
        return make_thumbnails(source, widths, xmp=packet, icc_profile=source.info.get("icc_profile"))


def _grey(image: Image.Image) -> Image.Image:
    """A greyscale view in which transparent areas count as white (as they are shown on a white page)."""
    if image.mode == "L":
        return image
    if image.mode == "RGB":
        return image.convert("L")
    return _flatten(image).convert("L")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white: what JPEG can store, and what a viewer shows."""
    if image.mode == "RGB":
        return image
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB")


_COLUMNS, _ROWS = 0, 1  # the axis of a profile: one level per column, or per row


class _Profiles:
    """Per column and per row of a box of the image, the fraction of bright pixels as 0..255 (see _SAMPLES).

    Greyscaling and thresholding a whole grid costs about as much as encoding one of its tiles. Instead, _SAMPLES whole
    rows are picked (not blended) for the column profiles and as many whole columns for the row profiles, the profiles
    estimated from them, then measured exactly from every pixel around each flip of the estimate. At these sizes each
    Pillow call costs more than its pixels do, so the exact bands of one profile are measured together in one strip."""

    def __init__(self, image: Image.Image) -> None:
        if image.mode not in ("RGB", "L"):
            image = _flatten(image)  # transparency counts as white; and pasting needs a mode without a palette
        self.image = image
        width, height = image.size
        # Which rows (for the column profiles) and columns (for the row profiles) are sampled; none in a small image,
        # where sampling would save nothing: it is measured whole.
        self.picks = (
            _nearest_picks(height, _SAMPLES) if height >= 4 * _SAMPLES else (),
            _nearest_picks(width, _SAMPLES) if width >= 4 * _SAMPLES else (),
        )
        self.samples = (
            _bright(image.resize((width, _SAMPLES), Image.Resampling.NEAREST)) if self.picks[_COLUMNS] else None,
            _bright(image.resize((_SAMPLES, height), Image.Resampling.NEAREST)) if self.picks[_ROWS] else None,
        )

    def levels(self, box: tuple[int, int, int, int], axis: int) -> bytes:
        """Per column (axis _COLUMNS) or row (_ROWS) of `box`."""
        left, top, right, bottom = box
        length, (low, high) = (right - left, (top, bottom)) if axis == _COLUMNS else (bottom - top, (left, right))
        picks, sample = self.picks[axis], self.samples[axis]
        # The samples that fall across the box: too few (or none) to go by, and the whole box is measured.
        first, last = bisect.bisect_left(picks, low), bisect.bisect_left(picks, high)
        if sample is None or last - first < _SAMPLES // 2:
            levels, bands = bytearray(length), [(0, length)]
        else:
            # reduce() by the whole extent across: one mean per column (row), the cheapest call Pillow has for it.
            if axis == _COLUMNS:
                estimate = sample.reduce((1, last - first), box=(left, first, right, last))
            else:
                estimate = sample.reduce((last - first, 1), box=(first, top, last, bottom))
            levels = bytearray(estimate.tobytes())
            bands = _bands(levels)
        if axis == _COLUMNS:
            parts = [self.image.crop((left + start, top, left + end, bottom)) for start, end in bands]
        else:
            parts = [self.image.crop((left, top + start, right, top + end)) for start, end in bands]
        exact = _bright(_side_by_side(parts, axis))
        whole = (0, 0, *exact.size)
        exact_levels = _column_levels(exact, whole) if axis == _COLUMNS else _row_levels(exact, whole)
        offset = 0
        for start, end in bands:
            levels[start:end] = exact_levels[offset : offset + end - start]
            offset += end - start
        return bytes(levels)


@functools.lru_cache(maxsize=64)
def _nearest_picks(size: int, count: int) -> tuple[int, ...]:
    """Which of `size` rows a NEAREST resize to `count` rows keeps, in order (asked of Pillow, not assumed)."""
    index = Image.new("I", (1, size))
    index.putdata(range(size))
    return tuple(array.array("i", index.resize((1, count), Image.Resampling.NEAREST).tobytes()))


def _bright(image: Image.Image) -> Image.Image:
    """The bright mask of an image: 255 where its grey level is BRIGHT_LEVEL or more, else 0."""
    return _grey(image).point(_BRIGHT_TABLE)


def _side_by_side(parts: list[Image.Image], axis: int) -> Image.Image:
    """The parts in one image: next to each other (axis _COLUMNS) or one below the other (_ROWS)."""
    if len(parts) == 1:
        return parts[0]
    if axis == _COLUMNS:
        strip = Image.new(parts[0].mode, (sum(part.width for part in parts), parts[0].height))
    else:
        strip = Image.new(parts[0].mode, (parts[0].width, sum(part.height for part in parts)))
    offset = 0
    for part in parts:
        strip.paste(part, (offset, 0) if axis == _COLUMNS else (0, offset))
        offset += part.width if axis == _COLUMNS else part.height
    return strip


def _bands(levels: bytearray) -> list[tuple[int, int]]:
    """Where an estimated profile must be measured exactly: around both ends and every flip between gutter and not;
    everywhere when it flips too often."""
    flips = [edge for run in _gutter_runs(bytes(levels), 0) for edge in run]
    if len(flips) > _MAX_FLIPS:
        return [(0, len(levels))]
    bands: list[tuple[int, int]] = []
    for edge in sorted({0, *flips, len(levels)}):
        start, end = max(0, edge - _EXACT_BAND), min(len(levels), edge + _EXACT_BAND)
        if bands and start <= bands[-1][1]:
            start = bands.pop()[0]
        bands.append((start, end))
    return bands


def _column_levels(mask: Image.Image, box: tuple[int, int, int, int]) -> bytes:
    """Per column of `box`, the bright fraction as 0..255.

    BOX resampling averages in C. Averaging a whole column at once walks memory down the column and is three times
    slower than first averaging blocks of rows (reduce), then the few block rows.
    """
    block = max(1, min(_ROW_BLOCK, box[3] - box[1]))
    return mask.reduce((1, block), box=box).resize((box[2] - box[0], 1), Image.Resampling.BOX).tobytes()


def _row_levels(mask: Image.Image, box: tuple[int, int, int, int]) -> bytes:
    """Per row of `box`, the bright fraction as 0..255."""
    return mask.resize((1, box[3] - box[1]), Image.Resampling.BOX, box=box).tobytes()


def _gutter_runs(levels: bytes, offset: int) -> list[tuple[int, int]]:
    """Runs of gutter columns (rows) as [start, end) positions, shifted by `offset` into image coordinates."""
    flags = levels.translate(_GUTTER_BYTES)
    return [(match.start() + offset, match.end() + offset) for match in _GUTTER_RUN.finditer(flags)]


def _trim(levels: bytes, count: int) -> tuple[int, int]:
    """The [start, end) range left after removing the gutter-like runs touching either edge (the outer borders)."""
    size = len(levels)
    runs = _gutter_runs(levels, 0)
    start = runs[0][1] if runs and runs[0][0] == 0 else 0
    end = runs[-1][0] if runs and runs[-1][1] == size else size
    if end - start < max(count, MIN_CONTENT_FRACTION * size):
        return 0, size
    return start, end


def _axis_spans(levels: bytes, start: int, count: int) -> list[tuple[int, int]]:
    """The `count` tile spans along one axis of the content [start, start + len(levels))."""
    size = len(levels)
    equal = [(start + k * size // count, start + (k + 1) * size // count) for k in range(count)]
    if count == 1:
        return equal
    runs = _gutter_runs(levels, start)
    reach = SEARCH_WINDOW * size
    edges = [start]  # alternately: where a tile starts, where it ends
    for k in range(1, count):
        expected = equal[k][0]
        near = [run for run in runs if run[0] <= expected + reach and run[1] >= expected - reach]
        if near:
            # Nearest to the expected position; of equally near bands, the wider one is the gutter.
            gutter = min(near, key=lambda run: (max(run[0] - expected, expected - run[1], 0), run[0] - run[1]))
            edges += gutter
        else:
            edges += (expected, expected)
    edges.append(start + size)
    spans = list(zip(edges[::2], edges[1::2], strict=True))
    smallest = MIN_TILE_FRACTION * size / count
    if any(end - begin < smallest for begin, end in spans):
        return equal
    return spans


# --- Provenance metadata ----------------------------------------------------------------------------------------


def xmp_packet(description: str = "") -> bytes:
    """An XMP packet saying the image is AI-generated (IPTC digital source type), made by us, optionally described.

    The IPTC field is what platforms and C2PA-aware tools read to label synthetic media.
    """
    description_xml = ""
    if description:
        text = escape(_XML_ILLEGAL.sub("", description))
        description_xml = (
            f'\n   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:description>\n  '
        )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"\n'
        f'    xmp:CreatorTool="{escape(AI_SOFTWARE)}">{description_xml}</rdf:Description>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def with_ai_metadata(data: bytes, *, description: str = "", reencode: bool = False) -> tuple[bytes, str]:
    """Mark an image as returned by an API as AI-generated, without re-encoding its pixels; drop any EXIF.

    PNG and JPEG are edited at the chunk/segment level, so the pixel data stays byte-identical. Anything else (WebP,
    or a JPEG/PNG whose EXIF rotates it, which we could not drop without changing how it looks) is decoded and
    re-encoded losslessly as PNG, as is any image when `reencode` is asked (a file whose container other readers
    refuse). Returns (bytes, extension), extension 'png' or 'jpg'. Idempotent.
    """
    packet = xmp_packet(description)
    if reencode:
        return _reencoded_png_with_xmp(data, packet), "png"
    if data.startswith(_PNG_SIGNATURE):
        chunks = _png_chunks(data)
        if not any(_png_exif_rotates(kind, body) for kind, body, _ in chunks):
            return _png_with_xmp(data, chunks, packet), "png"
    elif data.startswith(b"\xff\xd8"):
        segments, scan_start = _jpeg_header_segments(data)
        if not any(_jpeg_exif_rotates(marker, segment) for marker, segment in segments):
            return _jpeg_with_xmp(data, segments, scan_start, packet), "jpg"
    return _reencoded_png_with_xmp(data, packet), "png"


def read_xmp(data: bytes) -> str | None:
    """The XMP packet of a PNG, JPEG or WebP as text, or None when it has none or is not a readable image.

    PNG and JPEG are read from their chunks/segments (no decode, and an XMP chunk after the pixel data still counts).
    """
    try:
        if data.startswith(_PNG_SIGNATURE):
            for kind, body, _ in _png_chunks(data):
                if kind == b"iTXt" and body.split(b"\x00", 1)[0] == _PNG_XMP_KEYWORD:
                    return _itxt_text(body)
            return None
        if data.startswith(b"\xff\xd8"):
            segments, _ = _jpeg_header_segments(data)
            for marker, segment in segments:
                if marker == _APP1 and segment[4:].startswith(_JPEG_XMP_HEADER):
                    return segment[4 + len(_JPEG_XMP_HEADER) :].decode("utf-8", errors="replace")
            return None
    except (ValueError, zlib.error):
        return None  # a broken file proves nothing
    try:
        with Image.open(BytesIO(data)) as image:
            xmp = image.info.get("xmp")
    except UnidentifiedImageError:
        return None
    if isinstance(xmp, bytes):
        return xmp.decode("utf-8", errors="replace")
    return xmp or None


def _exif_rotates(exif_payload: bytes) -> bool:
    """Whether an EXIF block turns or mirrors the image (Orientation other than 1)."""
    exif = Image.Exif()
    try:
        exif.load(exif_payload)
    except (SyntaxError, ValueError, struct.error, OSError):
        return False  # unreadable EXIF: viewers cannot apply it either
    return exif.get(_ORIENTATION, 1) not in (1, None)


# PNG: a signature, then chunks of length (4), type (4), body, CRC of type + body (4).


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, body, whole chunk) for every chunk up to and including IEND; raises ValueError on a broken file."""
    chunks = []
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated PNG chunk header")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"truncated PNG chunk {kind!r}")
        chunks.append((kind, data[pos + 8 : end - 4], data[pos:end]))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR":
        raise ValueError("a PNG must start with IHDR")
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_exif_rotates(kind: bytes, body: bytes) -> bool:
    return kind == b"eXIf" and _exif_rotates(_JPEG_EXIF_HEADER + body)


def _png_dropped(kind: bytes, body: bytes) -> bool:
    """EXIF, and the text chunks we own (so applying twice replaces them rather than adding more)."""
    if kind == b"eXIf":
        return True
    return kind in _PNG_TEXT_CHUNKS and body.split(b"\x00", 1)[0] in _PNG_DROPPED_KEYWORDS


def _png_with_xmp(data: bytes, chunks: list[tuple[bytes, bytes, bytes]], packet: bytes) -> bytes:
    """The PNG with our iTXt XMP and tEXt Software right after IHDR; every other chunk copied verbatim."""
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, text.
    xmp = _png_chunk(b"iTXt", _PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)
    software = _png_chunk(b"tEXt", b"Software\x00" + AI_SOFTWARE.encode("latin-1"))
    kept = [whole for kind, body, whole in chunks[1:] if not _png_dropped(kind, body)]
    consumed = len(_PNG_SIGNATURE) + sum(len(whole) for _, _, whole in chunks)
    return b"".join([_PNG_SIGNATURE, chunks[0][2], xmp, software, *kept, data[consumed:]])


def _itxt_text(body: bytes) -> str:
    """The text of an iTXt chunk body, inflated if compressed."""
    _keyword, rest = body.split(b"\x00", 1)
    compressed = rest[:1] == b"\x01"
    _language, _translated, text = rest[2:].split(b"\x00", 2)
    return (zlib.decompress(text) if compressed else text).decode("utf-8", errors="replace")


# JPEG: SOI, then marker segments (0xFF, marker, 2-byte length counting itself, payload) up to the first SOS; the
# entropy-coded scan data follows. Metadata lives in the header segments, so only those are touched.


def _jpeg_header_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, whole segment) for each segment before the first SOS, and where that SOS starts."""
    segments = []
    pos = 2
    while True:
        while data[pos : pos + 2] == b"\xff\xff":  # fill bytes before a marker
            pos += 1
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ValueError("broken JPEG: no marker where one was expected")
        marker = data[pos + 1]
        if marker == _SOS:
            return segments, pos
        if marker in _STANDALONE_MARKERS:
            segments.append((marker, data[pos : pos + 2]))
            pos += 2
            continue
        if marker in (0xD8, 0xD9):
            raise ValueError("broken JPEG: no image data before the end marker")
        if pos + 4 > len(data):
            raise ValueError("broken JPEG: truncated segment")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError("broken JPEG: truncated segment")
        segments.append((marker, data[pos : pos + 2 + length]))
        pos += 2 + length


def _jpeg_exif_rotates(marker: int, segment: bytes) -> bool:
    return marker == _APP1 and segment[4:].startswith(_JPEG_EXIF_HEADER) and _exif_rotates(segment[4:])


def _jpeg_dropped(marker: int, segment: bytes) -> bool:
    """EXIF (with its FlashPix extension) and any XMP, ours included, so applying twice replaces rather than adds."""
    payload = segment[4:]
    if marker == _APP1:
        return payload.startswith((_JPEG_EXIF_HEADER, _JPEG_XMP_HEADER, _JPEG_EXTENDED_XMP_HEADER))
    return marker == _APP2 and payload.startswith(_JPEG_FLASHPIX_HEADER)


def _jpeg_with_xmp(data: bytes, segments: list[tuple[int, bytes]], scan_start: int, packet: bytes) -> bytes:
    """SOI, the JFIF APP0 segment(s) if any, our APP1 XMP, the other header segments, then the scans verbatim."""
    length = 2 + len(_JPEG_XMP_HEADER) + len(packet)
    if length > _JPEG_MAX_SEGMENT:
        raise ValueError("the XMP packet is too long for one JPEG segment; shorten the description")
    xmp = b"\xff\xe1" + struct.pack(">H", length) + _JPEG_XMP_HEADER + packet
    kept = [(marker, segment) for marker, segment in segments if not _jpeg_dropped(marker, segment)]
    leading_app0 = 0
    while leading_app0 < len(kept) and kept[leading_app0][0] == _APP0:
        leading_app0 += 1
    head = [segment for _, segment in kept[:leading_app0]]
    rest = [segment for _, segment in kept[leading_app0:]]
    return b"".join([b"\xff\xd8", *head, xmp, *rest, data[scan_start:]])


def _reencoded_png_with_xmp(data: bytes, packet: bytes) -> bytes:
    """Decode, apply any EXIF orientation, and store as lossless PNG (keeping the ICC profile) with our metadata."""
    with Image.open(BytesIO(data)) as source:
        source.load()
        image = ImageOps.exif_transpose(source)
    if image.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    params = {}
    if icc_profile := image.info.get("icc_profile"):
        params["icc_profile"] = icc_profile
    out = BytesIO()
    image.save(out, "PNG", **params)
    png = out.getvalue()
    return _png_with_xmp(png, _png_chunks(png), packet)
