"""Every image the API sends is checked here before it is stored or used as a reference: it is no larger than a
stored image should be, it is in a format we asked for, its pixel size is close to the size we asked for (read
from the header, so that a decompression bomb is refused without being decoded), and it decodes completely. A bad
image is a transient error of that call: it is asked again, and never stored."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from generation.integrations.contract import TransientBackendError

MAX_IMAGE_BYTES = 25 * 1024 * 1024
# Each side within this share of the side we asked for; with size "auto", within the API's own range.
SIDE_TOLERANCE = (0.5, 1.5)
AUTO_SIDES = (256, 4096)
FORMATS = {"jpeg": ("JPEG",), "png": ("PNG",), "webp": ("WEBP",), "": ("PNG", "JPEG", "WEBP")}


class BadImage(TransientBackendError):
    """The API answered with an image we cannot use; asking again may give a good one."""


def side_range(asked: int) -> tuple[int, int]:
    low, high = SIDE_TOLERANCE
    return int(asked * low), int(asked * high)


def check_image(data: bytes, *, size: str, output_format: str) -> None:
    """Raise BadImage unless `data` is a whole image of about `size` ("WxH" or "auto") in `output_format`."""
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImage(f"The API sent an image of {len(data):,} bytes (at most {MAX_IMAGE_BYTES:,}).")
    try:
        width_asked, height_asked = (int(side) for side in size.lower().split("x"))
        ranges = [side_range(width_asked), side_range(height_asked)]
    except ValueError:
        ranges = [AUTO_SIDES, AUTO_SIDES]
    formats = FORMATS.get(output_format, FORMATS[""])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by its size
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                if image.format not in formats:
                    raise BadImage(f"The API sent a {image.format} image; {'/'.join(formats)} was asked.")
                width, height = image.size
                for side, (low, high) in zip((width, height), ranges, strict=True):
                    if not low <= side <= high:
                        raise BadImage(f"The API sent a {width}x{height} image; {size} was asked.")
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise BadImage(f"The API sent an image that does not decode ({type(error).__name__}).") from error
