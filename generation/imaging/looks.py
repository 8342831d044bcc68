"""How a stored photo may be finished, by the original app's later flags: trimming plain near-white borders
(`crop_white_borders`) and a random phone-camera look (`randomize_image_style`). Pure Pillow and numpy, no Django.
A look is drawn from a seed (the photo's key), so a second run of a unit makes the same file."""

from __future__ import annotations

import random
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from generation.imaging.tiles import flatten

# A border row or column is one whose every pixel is brighter than this (0-255); the original app used about
# 220 to 230.
WHITE_THRESHOLD = 225
# At most this share of a side is trimmed: a "border" wider than that is part of the picture (a white wall).
MOST_TRIMMED = 0.25


def white_border_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box inside the image's plain near-white borders, or None when it has none to trim."""
    width, height = image.size
    content = image.convert("L").point(lambda level: 255 if level <= WHITE_THRESHOLD else 0)
    box = content.getbbox()
    if box is None:  # white all over: nothing to tell a border from
        return None
    left, top, right, bottom = box
    most_x, most_y = int(width * MOST_TRIMMED), int(height * MOST_TRIMMED)
    box = (min(left, most_x), min(top, most_y), max(right, width - most_x), max(bottom, height - most_y))
    return None if box == (0, 0, width, height) else box


def trim_white_borders(image: Image.Image) -> Image.Image | None:
    """The image without its plain near-white borders, or None when it has none."""
    box = white_border_box(image)
    return image.crop(box) if box else None


def trimmed_png(data: bytes) -> bytes | None:
    """An encoded image (a base as the model sent it) without its plain near-white borders, as a lossless PNG with
    its ICC profile; None when it has no border to trim."""
    with Image.open(BytesIO(data)) as source:
        source.load()
        icc_profile = source.info.get("icc_profile")
        ImageOps.exif_transpose(source, in_place=True)
        trimmed = trim_white_borders(flatten(source))
    if trimmed is None:
        return None
    out = BytesIO()
    trimmed.save(out, "PNG", **({"icc_profile": icc_profile} if icc_profile else {}))
    return out.getvalue()


# --- A phone camera's look ---------------------------------------------------------------------------------------

# The C2PA actions a look is recorded as: its colour and contrast changes, then its blur or sharpening, grain and
# vignette.
LOOK_ACTIONS = ("c2pa.color_adjustments", "c2pa.filtered")
# name: (gain of the red, green and blue channels, saturation)
PRESETS = {
    "neutral": ((1.0, 1.0, 1.0), 1.0),
    "warm": ((1.06, 1.0, 0.92), 1.05),
    "cool": ((0.94, 1.0, 1.07), 0.97),
    "faded": ((1.02, 1.0, 0.98), 0.8),
    "vivid": ((1.0, 1.0, 1.0), 1.18),
}


@dataclass(frozen=True)
class Look:
    preset: str
    contrast: float  # 1 leaves it
    softness: float  # above 0: a Gaussian blur of that radius; below 0: sharpening of that strength
    grain: float  # the noise's standard deviation, in levels of 0-255
    vignette: float  # how much darker the corners get, 0-1
    quality: int  # the JPEG quality it is saved at

    def describe(self) -> str:
        return (
            f"{self.preset} colour, contrast {self.contrast:.2f}, "
            f"{'blur' if self.softness > 0 else 'sharpening'} {abs(self.softness):.2f}, grain {self.grain:.1f}, "
            f"vignette {self.vignette:.2f}, JPEG quality {self.quality}"
        )


def random_look(seed: str) -> Look:
    """A look drawn from `seed`: a colour preset, a small contrast change, a slight blur or sharpening, grain, a
    vignette and a JPEG quality from 78 to 95."""
    draw = random.Random(seed)
    return Look(
        preset=draw.choice(sorted(PRESETS)),
        contrast=round(draw.uniform(0.92, 1.08), 3),
        softness=round(draw.choice([-1, 1]) * draw.uniform(0.2, 0.6), 3),
        grain=round(draw.uniform(2.0, 6.0), 2),
        vignette=round(draw.uniform(0.1, 0.3), 3),
        quality=draw.randint(78, 95),
    )


def apply_look(image: Image.Image, look: Look, seed: str) -> Image.Image:
    """The image as a phone camera with `look` would have taken it; `seed` draws its grain."""
    gains, saturation = PRESETS[look.preset]
    rgb = Image.merge(
        "RGB",
        [
            band.point(lambda level, gain=gain: min(255, round(level * gain)))
            for band, gain in zip(image.convert("RGB").split(), gains, strict=True)
        ],
    )
    rgb = ImageEnhance.Contrast(ImageEnhance.Color(rgb).enhance(saturation)).enhance(look.contrast)
    if look.softness > 0:
        rgb = rgb.filter(ImageFilter.GaussianBlur(look.softness))
    elif look.softness < 0:
        rgb = rgb.filter(ImageFilter.UnsharpMask(radius=1.5, percent=round(-look.softness * 150), threshold=2))
    pixels = np.asarray(rgb, dtype=np.float32)
    noise = np.random.default_rng(random.Random(seed).getrandbits(64)).normal(0.0, look.grain, pixels.shape[:2])
    height, width = pixels.shape[:2]
    y, x = np.ogrid[:height, :width]
    distance = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2)) / np.sqrt(2)
    shade = 1.0 - look.vignette * distance**2
    pixels = (pixels + noise[..., None]) * shade[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
