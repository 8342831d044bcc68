"""Finding a grid's tiles. The image model never draws exact grid lines: the gutters are white bands of uneven
width, off the exact middle, sometimes with white borders around the outside. They are found from the pixels
(cheap row and column brightness profiles) instead of cutting blindly at the halves."""

from __future__ import annotations

import array
import bisect
import functools
import re
from dataclasses import dataclass

from PIL import Image

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


def _grey(image: Image.Image) -> Image.Image:
    """A greyscale view in which transparent areas count as white (as they are shown on a white page)."""
    if image.mode == "L":
        return image
    if image.mode == "RGB":
        return image.convert("L")
    return flatten(image).convert("L")


def flatten(image: Image.Image) -> Image.Image:
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
            image = flatten(image)  # transparency counts as white; and pasting needs a mode without a palette
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
