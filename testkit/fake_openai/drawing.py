"""The images the server sends: drawn portraits and photo-grid look-alikes, encoded as the request asks."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

# Mid-tone colours: clearly non-white so a grid splitter can tell tiles from white gutters.
PALETTE = [
    (214, 96, 77), (76, 140, 200), (96, 170, 110), (200, 160, 60),
    (150, 100, 190), (60, 170, 170), (210, 120, 160), (120, 120, 130),
]  # fmt: skip


def _darker(colour: tuple[int, int, int], factor: float = 0.55) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)  # type: ignore[return-value]


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.save(buffer, "JPEG", quality=80)
    elif fmt == "webp":
        image.save(buffer, "WEBP", quality=80)
    else:
        image.save(buffer, "PNG", compress_level=1)  # fast: benchmarks make thousands of these
    return buffer.getvalue()


def render_portrait(size: tuple[int, int], index: int) -> Image.Image:
    """A coloured background with an ellipse "face"; ``index`` picks the colour so successive images differ."""
    width, height = size
    colour = PALETTE[index % len(PALETTE)]
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.75), fill=(240, 205, 175), outline=(60, 40, 30))
    return image


def _split(total: int, parts: int) -> list[int]:
    """Split ``total`` pixels into ``parts`` near-equal whole lengths."""
    base, extra = divmod(max(total, parts), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def render_grid(size: tuple[int, int], cols: int, rows: int, index: int) -> Image.Image:
    """A photo-grid look-alike: solid tiles with uneven white gutters and a ragged white border.

    Image models never draw exact grid lines, so gutters vary (6-14 px) and the outer border is present on only
    some sides; this is what the project's grid splitter has to cope with.
    """
    width, height = size
    rng = random.Random(index)
    left, top = rng.randint(2, 6), rng.randint(0, 4)
    right, bottom = rng.choice([0, 3, 5]), rng.randint(2, 6)
    col_gutters = [rng.randint(6, 14) for _ in range(cols - 1)]
    row_gutters = [rng.randint(6, 14) for _ in range(rows - 1)]
    tile_widths = _split(width - left - right - sum(col_gutters), cols)
    tile_heights = _split(height - top - bottom - sum(row_gutters), rows)

    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    y = top
    for row, tile_h in enumerate(tile_heights):
        x = left
        for col, tile_w in enumerate(tile_widths):
            colour = PALETTE[(index + row * cols + col) % len(PALETTE)]
            draw.rectangle((x, y, x + tile_w - 1, y + tile_h - 1), fill=colour)
            draw.ellipse(
                (x + tile_w * 0.3, y + tile_h * 0.2, x + tile_w * 0.7, y + tile_h * 0.75), fill=_darker(colour)
            )
            x += tile_w + (col_gutters[col] if col < cols - 1 else 0)
        y += tile_h + (row_gutters[row] if row < rows - 1 else 0)
    return image
