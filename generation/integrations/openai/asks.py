"""What we ask OpenAI for, read from the settings here and nowhere else outside this package: the image model, the
pixel size of each shape of image, and the figures costs need (models, quality, sizes, price table)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from generation.costs.plans import Plan
from generation.imaging.grids import Shape


def image_model() -> str:
    return settings.OPENAI_IMAGE_MODEL


def size(shape: Shape) -> str:
    """The `size` the image API is asked for: OPENAI_TALL_IMAGE_SIZE for a portrait (a 2x4 grid), else
    OPENAI_IMAGE_SIZE (the base selfie, 2x2 grids, single photos)."""
    return settings.OPENAI_TALL_IMAGE_SIZE if shape == "portrait" else settings.OPENAI_IMAGE_SIZE


def prices() -> dict:
    """OPENAI_PRICES as a table (JSON in the environment; {} when unset)."""
    override = settings.OPENAI_PRICES
    if isinstance(override, str):
        try:
            override = json.loads(override) if override.strip() else {}
        except json.JSONDecodeError as error:
            raise ImproperlyConfigured(f"OPENAI_PRICES is not valid JSON: {error}") from error
    return override or {}


def plan(*, paid: bool = True) -> Plan:
    return Plan(
        paid=paid,
        text_model=settings.OPENAI_TEXT_MODEL,
        image_model=image_model(),
        quality=settings.OPENAI_IMAGE_QUALITY,
        sizes={"square": size("square"), "portrait": size("portrait")},
        prices=prices(),
    )
