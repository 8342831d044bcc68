"""4. Grid split and encode: milliseconds per tile of `split_grid` (JPEG q90 with XMP) against the floor measured in
the same run: Pillow's bare decode + equal crops + encode of the same PNG. Target: split ≤ 1.2× the floor.

The grids are drawn here as the image API returns them: a PNG of photo-like tiles (smooth light and colour gradients
under sensor-like noise, a few shapes), separated by uneven near-white gutters off the equal-cut positions, with a
white border on some sides. The PNGs (~1.25 MB at 1024×1024) are on the small side of what the API sends: a smaller
PNG decodes faster, which makes the floor lower and the ratio harder to meet. Split and floor are timed alternately,
image by image, so that drift of the machine (turbo, another process) hits both alike; each figure is the median over
many repetitions. The details also give the time of gutter detection alone (find_tile_boxes on the decoded image) and
check that it found the drawn tiles.

The split figure leaves the thumbnails out (`split_grid`, which makes none); they have a figure of their own: the
milliseconds per tile of `make_thumbnails` (WebP at 256 and 512 px from the decoded tile, as the pipeline's
`split_grid_photos` does), against Pillow's bare resize + WebP encode of each width straight from the tile, with the
same quality and method. Its details give their size in KB, on these drawn tiles and (2×2 only) on real photos
(testkit's astronaut and Grace Hopper, as a base at 1024 px and as tiles of a 2×2 grid), with what other libwebp
methods would cost and weigh."""

from __future__ import annotations

import random
import time
from io import BytesIO

import numpy
from PIL import Image, ImageDraw

from bench.common import Figure, median, percentile
from generation.imaging.metadata import xmp_packet
from generation.imaging.photos import (
    THUMBNAIL_METHOD,
    THUMBNAIL_QUALITY,
    THUMBNAIL_REDUCING_GAP,
    make_thumbnails,
    split_grid,
)
from generation.imaging.tiles import find_tile_boxes
from generation.integrations.storage import THUMBNAIL_WIDTHS

BENCH = "4 grid split"
TARGET_RATIO = 1.2
QUALITY = 90


def photo_tile(size: tuple[int, int], rng: random.Random, grain: float = 0.18) -> Image.Image:
    """A photo-like tile: a diagonal light gradient between two colours, soft shapes (drawn at a quarter of the size
    and enlarged, which blurs them), and fine noise (`grain`: how much of it, 0 to 1)."""
    width, height = size
    small = (max(1, width // 4), max(1, height // 4))
    start = [rng.randrange(40, 170) for _ in range(3)]
    end = [rng.randrange(20, 200) for _ in range(3)]
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 30, 60, 90))).resize(small)
    bands = [ramp.point([a + (b - a) * v // 255 for v in range(256)]) for a, b in zip(start, end, strict=True)]
    tile = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(tile)
    for _ in range(12):
        x, y = rng.randrange(0, small[0]), rng.randrange(0, small[1])
        w, h = rng.randrange(small[0] // 10, small[0] // 2 + 1), rng.randrange(small[1] // 10, small[1] // 2 + 1)
        colour = tuple(rng.randrange(10, 210) for _ in range(3))
        draw.ellipse((x - w // 2, y - h // 2, x + w // 2, y + h // 2), fill=colour)
    # Luminance noise (sigma 12) on every channel, so the PNG costs what a real photo costs to decode.
    noise = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(tile.resize(size, Image.Resampling.BICUBIC), noise, grain)


def draw_grid(size: tuple[int, int], cols: int, rows: int, seed: int) -> tuple[bytes, Image.Image, list[tuple]]:
    """(PNG bytes, image, tile boxes) of a cols×rows grid with uneven gutters 5-14 px wide, 1-4 % off the equal cuts,
    and white borders on one to four sides."""
    rng = random.Random(seed)
    width, height = size
    borders = [rng.choice((0, rng.randrange(8, 28))) for _ in range(4)]  # left, top, right, bottom
    borders[rng.randrange(4)] = rng.randrange(8, 28)  # at least one border

    def spans(start: int, end: int, count: int) -> list[tuple[int, int]]:
        cuts, size_ = [start], end - start
        for k in range(1, count):
            middle = start + k * size_ // count + rng.choice((-1, 1)) * rng.randrange(size_ // 100, size_ // 25)
            gutter = rng.randrange(5, 15)
            cuts += [middle - gutter // 2, middle - gutter // 2 + gutter]
        cuts.append(end)
        return list(zip(cuts[::2], cuts[1::2], strict=True))

    col_spans = spans(borders[0], width - borders[2], cols)
    row_spans = spans(borders[1], height - borders[3], rows)
    # Gutters and borders: near white with a little noise (250-255), as a generated image has them.
    canvas = Image.merge("RGB", [Image.effect_noise(size, 2).point(lambda v: min(255, 252 + (v - 128) // 2))] * 3)
    for top, bottom in row_spans:
        for left, right in col_spans:
            canvas.paste(photo_tile((right - left, bottom - top), rng), (left, top))
    out = BytesIO()
    canvas.save(out, "PNG")
    boxes = [(left, top, right, bottom) for top, bottom in row_spans for left, right in col_spans]
    return out.getvalue(), canvas, boxes


def floor_split(data: bytes, cols: int, rows: int) -> list[bytes]:
    """The least any splitter must do: decode, crop at the equal positions, encode each crop."""
    with Image.open(BytesIO(data)) as image:
        image.load()
        width, height = image.size
        tiles = []
        for r in range(rows):
            for c in range(cols):
                box = (width * c // cols, height * r // rows, width * (c + 1) // cols, height * (r + 1) // rows)
                out = BytesIO()
                image.crop(box).save(out, "JPEG", quality=QUALITY)
                tiles.append(out.getvalue())
    return tiles


def split(data: bytes, cols: int, rows: int) -> list[bytes]:
    return split_grid(data, cols, rows, image_format="jpeg", quality=QUALITY)


def timed(function, *args) -> float:
    began = time.perf_counter()
    function(*args)
    return time.perf_counter() - began


def detection(grids: list[tuple[bytes, Image.Image, list[tuple]]], cols: int, rows: int) -> tuple[float, int]:
    """(median ms of find_tile_boxes on the decoded grids, how many found tiles are more than 1 px off the drawn)."""
    times, off = [], 0
    for data, _, drawn in grids:
        with Image.open(BytesIO(data)) as image:
            image.load()
            found = find_tile_boxes(image, cols, rows)
            off += sum(
                max(abs(a - b) for a, b in zip(box.as_tuple(), expected, strict=True)) > 1
                for box, expected in zip(found, drawn, strict=True)
            )
            for _ in range(20):
                times.append(timed(find_tile_boxes, image, cols, rows))
    return median(times) * 1000, off


def measure(size: tuple[int, int], cols: int, rows: int, images: int, rounds: int) -> Figure:
    drawn = [draw_grid(size, cols, rows, seed) for seed in range(images)]
    grids = [data for data, _, _ in drawn]
    tiles = cols * rows
    for data in grids:  # warm-up: first-call costs (codec set-up, page faults) out of the figures
        split_grid(data, cols, rows, quality=QUALITY)
        floor_split(data, cols, rows)
    split_times, floor_times = [], []
    for n in range(rounds):
        for data in grids:
            # Alternate which goes first, so neither always runs on a cache the other warmed.
            if n % 2:
                floor_times.append(timed(floor_split, data, cols, rows))
                split_times.append(timed(split, data, cols, rows))
            else:
                split_times.append(timed(split, data, cols, rows))
                floor_times.append(timed(floor_split, data, cols, rows))
    split_ms, floor_ms = median(split_times) * 1000 / tiles, median(floor_times) * 1000 / tiles
    ratio = split_ms / floor_ms
    detect_ms, off = detection(drawn, cols, rows)
    return Figure(
        bench=BENCH,
        name=f"split_grid {cols}×{rows} {size[0]}×{size[1]} PNG → JPEG q{QUALITY}, per tile (median)",
        value=split_ms,
        unit="ms",
        limit=floor_ms,
        target=f"≤ {TARGET_RATIO}× decode+crop+encode",
        ok=ratio <= TARGET_RATIO and off == 0,
        details={
            "images": images,
            "runs_each": len(split_times),
            "png_kb": round(sum(map(len, grids)) / len(grids) / 1024),
            "split_p90_ms_per_tile": round(percentile(split_times, 0.9) * 1000 / tiles, 3),
            "floor_p90_ms_per_tile": round(percentile(floor_times, 0.9) * 1000 / tiles, 3),
            "overhead_ms_per_image": round((median(split_times) - median(floor_times)) * 1000, 3),
            "find_tile_boxes_ms_per_image": round(detect_ms, 3),
            "tiles_found_off_by_more_than_1px": off,
        },
    )


def decoded_tiles(data: bytes, cols: int, rows: int) -> list[Image.Image]:
    """The tiles of a grid as split_grid_photos holds them when it makes their thumbnails: decoded, cropped."""
    with Image.open(BytesIO(data)) as image:
        image.load()
        rgb = image.convert("RGB")
        return [rgb.crop(box.as_tuple()) for box in find_tile_boxes(rgb, cols, rows)]


def floor_thumbnails(tile: Image.Image, method: int = THUMBNAIL_METHOD) -> list[bytes]:
    """The least a thumbnailer must do: resize the tile to each width (never up) and encode it as WebP."""
    made = []
    for width in THUMBNAIL_WIDTHS:
        small = tile
        if width < tile.width:
            small = tile.resize((width, round(tile.height * width / tile.width)), Image.Resampling.LANCZOS)
        out = BytesIO()
        small.save(out, "WEBP", quality=THUMBNAIL_QUALITY, method=method)
        made.append(out.getvalue())
    return made


PACKET = xmp_packet("AI-generated photo of a fictional person (Ada Example).")


def thumbnails(tile: Image.Image) -> dict[int, bytes]:
    return make_thumbnails(tile, THUMBNAIL_WIDTHS, xmp=PACKET)


def real_photos() -> tuple[Image.Image, list[Image.Image]]:
    """A base (1024×1024) and four 2×2 tiles of real faces, as the pipeline's tests make them."""
    from testkit import faces

    with Image.open(BytesIO(faces.portrait(faces.astronaut()))) as base:
        base.load()
    people = [faces.astronaut(), faces.grace_hopper(), faces.mirrored(faces.astronaut()), faces.grace_hopper()]
    return base.convert("RGB"), decoded_tiles(faces.grid(people), 2, 2)


def reduced_psnr_db(image: Image.Image, width: int) -> float:
    """How close the thumbnails' resize (reduce, then LANCZOS) comes to LANCZOS alone, in dB (40 and up: no visible
    difference)."""
    size = (width, round(image.height * width / image.width))
    exact = numpy.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=numpy.float64)
    reduced = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=THUMBNAIL_REDUCING_GAP)
    error = numpy.mean((exact - numpy.asarray(reduced, dtype=numpy.float64)) ** 2)
    return round(float(10 * numpy.log10(255**2 / error)), 1) if error else float("inf")


def kb(sizes: list[int]) -> float:
    return round(sum(sizes) / len(sizes) / 1024, 1)


def real_photo_details(rounds: int) -> dict[str, object]:
    """What the thumbnails of real photos weigh, and what each libwebp method would cost and weigh on them."""
    base, faces = real_photos()
    real = [thumbnails(tile) for tile in faces]
    base_thumbnails = thumbnails(base)
    details: dict[str, object] = {
        "real_tile_px": f"{faces[0].width}×{faces[0].height}",
        **{f"real_tile_{w}_kb": kb([len(made[w]) for made in real]) for w in THUMBNAIL_WIDTHS},
        **{f"real_base_1024_{w}_kb": kb([len(base_thumbnails[w])]) for w in THUMBNAIL_WIDTHS},
        "real_base_1024_ms": round(median([timed(thumbnails, base) for _ in range(max(3, rounds // 4))]) * 1000, 3),
        **{f"real_base_{w}_reduced_psnr_db": reduced_psnr_db(base, w) for w in THUMBNAIL_WIDTHS},
    }
    for method in (0, 1, 2, 4, 6):  # the floor's time and the bytes of each width, on the real tiles
        spent = [timed(floor_thumbnails, tile, method) for _ in range(max(2, rounds // 8)) for tile in faces]
        sizes = [[len(made) for made in floor_thumbnails(tile, method)] for tile in faces]
        weights = " + ".join(f"{kb(list(column))}" for column in zip(*sizes, strict=True))
        details[f"method_{method}"] = f"{median(spent) * 1000:.1f} ms/tile, {weights} KB"
    return details


def measure_thumbnails(
    size: tuple[int, int], cols: int, rows: int, images: int, rounds: int, *, real: bool = False
) -> Figure:
    tiles = [tile for seed in range(images) for tile in decoded_tiles(draw_grid(size, cols, rows, seed)[0], cols, rows)]
    for tile in tiles:  # warm-up
        thumbnails(tile)
        floor_thumbnails(tile)
    ours, floor = [], []
    for n in range(rounds):
        for tile in tiles:
            if n % 2:
                floor.append(timed(floor_thumbnails, tile))
                ours.append(timed(thumbnails, tile))
            else:
                ours.append(timed(thumbnails, tile))
                floor.append(timed(floor_thumbnails, tile))
    ours_ms, floor_ms = median(ours) * 1000, median(floor) * 1000
    drawn = [thumbnails(tile) for tile in tiles]
    details: dict[str, object] = {
        "tiles": len(tiles),
        "tile_px": f"{tiles[0].width}×{tiles[0].height}",
        "runs_each": len(ours),
        "quality": THUMBNAIL_QUALITY,
        "method": THUMBNAIL_METHOD,
        "p90_ms_per_tile": round(percentile(ours, 0.9) * 1000, 3),
        **{f"drawn_tile_{w}_kb": kb([len(made[w]) for made in drawn]) for w in THUMBNAIL_WIDTHS},
        **(real_photo_details(rounds) if real else {}),
    }
    return Figure(
        bench=BENCH,
        name=f"thumbnails of {cols}×{rows} tiles, WebP q{THUMBNAIL_QUALITY} {'+'.join(map(str, THUMBNAIL_WIDTHS))} px, "
        "per tile (median)",
        value=ours_ms,
        unit="ms",
        limit=floor_ms,
        target=f"≤ {TARGET_RATIO}× resize+encode",
        ok=ours_ms / floor_ms <= TARGET_RATIO,
        details=details,
    )


def run(quick: bool) -> list[Figure]:
    images, rounds = (2, 6) if quick else (8, 40)
    return [
        measure((1024, 1024), 2, 2, images, rounds),
        measure((1024, 1536), 2, 4, images, rounds),
        measure_thumbnails((1024, 1024), 2, 2, images, rounds // 2, real=True),
        measure_thumbnails((1024, 1536), 2, 4, images, rounds // 2),
    ]


if __name__ == "__main__":
    for figure in run(quick=True):
        print(figure)
