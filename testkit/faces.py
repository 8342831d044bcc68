"""Photos of real people for the face checks, from packages the tests depend on (never downloaded): NASA's
portrait of astronaut Eileen Collins (scikit-image) and Grace Hopper's (matplotlib). Builders lay them out as an
image model's photo grid would be, with white gutters, so that the pipeline splits, checks and replaces them."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageOps

GRID_SIDE = 1024
GUTTER = 10


@cache
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).convert("RGB")


@cache
def grace_hopper() -> Image.Image:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        return Image.open(file).convert("RGB")


def head(person: Image.Image) -> Image.Image:
    """The photo cropped to head and shoulders, so that the face is large in a tile."""
    width, height = person.size
    if person is astronaut():
        return person.crop((90, 0, 360, 300))
    return person.crop((100, 60, 450, 440)) if (width, height) == (512, 600) else person


def mirrored(person: Image.Image) -> Image.Image:
    return ImageOps.mirror(person)


def darker(person: Image.Image) -> Image.Image:
    return person.point(lambda level: int(level * 0.75))


def pair(first: Image.Image, second: Image.Image) -> Image.Image:
    """Two people side by side in one photo."""
    both = Image.new("RGB", (512, 512), (90, 110, 120))
    both.paste(head(first).resize((250, 278)), (0, 120))
    both.paste(head(second).resize((250, 271)), (262, 120))
    return both


def at_right_edge(person: Image.Image) -> Image.Image:
    """The astronaut's photo moved right until her face runs past the right edge: in the top-left tile of a grid,
    the edge the split cuts."""
    moved = Image.new("RGB", person.size, (90, 110, 120))
    moved.paste(person, (250, 0))
    return moved


def jpeg(image: Image.Image, size: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    (image.resize(size) if size else image).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def portrait(person: Image.Image) -> bytes:
    """A base selfie as the image API sends it: 1024x1024 JPEG."""
    return jpeg(ImageOps.fit(head(person), (GRID_SIDE, GRID_SIDE)))


def grid(photos: list[Image.Image], cols: int = 2, rows: int = 2) -> bytes:
    """A 1024x1024 photo grid of these photos with white gutters, row by row."""
    canvas = Image.new("RGB", (GRID_SIDE, GRID_SIDE), (255, 255, 255))
    cell_w = (GRID_SIDE - GUTTER * (cols - 1)) // cols
    cell_h = (GRID_SIDE - GUTTER * (rows - 1)) // rows
    for index, photo in enumerate(photos):
        row, col = divmod(index, cols)
        tile = ImageOps.fit(photo, (cell_w, cell_h))
        canvas.paste(tile, (col * (cell_w + GUTTER), row * (cell_h + GUTTER)))
    return jpeg(canvas)
