"""The layout of a persona's photos: how many grids of how many tiles, and where each photo sat in its grid.
Read by the pipeline that asks for the grids and by the estimate that prices them."""

from __future__ import annotations

from typing import Literal

from django.conf import settings

Layout = tuple[int, int]  # columns, rows
# The shape an image is asked in, in our words: the backend turns it into the pixels its API takes.
Shape = Literal["square", "portrait"]


def grid_layouts(images_per_persona: int) -> list[Layout]:
    """Photos are made four at a time: N/4 2x2 grids, in parallel, from the same base (each tile keeps a quarter of
    a square image, so the face stays larger and sharper). 8 images can be one 2x4 grid instead (GRID_LAYOUT_8=2x4:
    one call fewer, smaller tiles)."""
    if images_per_persona == 8 and settings.GRID_LAYOUT_8 == "2x4":
        return [(2, 4)]
    return [(2, 2)] * max(1, images_per_persona // 4)


def position_in_grid(position: int, images_per_persona: int) -> tuple[int, Layout]:
    """Where tile `position` (1-based, as in `images`) sat: its index in its grid and that grid's layout."""
    start = 1
    for layout in grid_layouts(images_per_persona):
        count = layout[0] * layout[1]
        if position < start + count:
            return position - start, layout
        start += count
    raise ValueError(f"Position {position} is beyond {images_per_persona} images.")


def grid_shape(layout: Layout) -> Shape:
    """A grid taller than it is wide (2x4) is asked as a portrait image, any other as a square one."""
    cols, rows = layout
    return "portrait" if rows > cols else "square"
