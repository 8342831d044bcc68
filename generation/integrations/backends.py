"""The backend the settings name: `openai` talks to OpenAI or any compatible server; `offline` needs no network.
The pipeline never knows which one it has. The contract's names are re-exported, so callers say `backends.X`."""

from __future__ import annotations

import time
from functools import cache

from django.conf import settings

from generation.costs.plans import Plan
from generation.imaging.grids import Layout, grid_shape
from generation.integrations import prompts
from generation.integrations.contract import (
    BackendError,
    FatalBackendError,
    GenerationBackend,
    IdeasRequest,
    MalformedAnswerError,
    PersonaRequest,
    RefusedError,
    RejectedInputError,
    Sitter,
    Skeleton,
    TransientBackendError,
)
from generation.integrations.offline import OfflineBackend
from generation.integrations.openai import asks, ratelimit
from generation.integrations.openai.backend import OpenAIBackend

__all__ = [
    "BackendError",
    "FatalBackendError",
    "GenerationBackend",
    "IdeasRequest",
    "MalformedAnswerError",
    "PersonaRequest",
    "RefusedError",
    "RejectedInputError",
    "Sitter",
    "Skeleton",
    "TransientBackendError",
    "base_selfie",
    "edited_image",
    "get_backend",
    "image_slots",
    "new_image",
    "photo_grid",
    "plan",
    "replacement_photo",
]


@cache
def get_backend() -> GenerationBackend:
    if settings.GENERATION_BACKEND == "openai":
        return OpenAIBackend.from_settings()
    if settings.GENERATION_BACKEND == "offline":
        return OfflineBackend()
    raise ValueError(f"Unknown GENERATION_BACKEND {settings.GENERATION_BACKEND!r}: use 'openai' or 'offline'.")


def plan() -> Plan:
    """What the backend the settings name asks for, as costs need it (handed to costs.plans at start-up). The
    offline generator pays for nothing; the price table still prices any call recorded."""
    return asks.plan(paid=settings.GENERATION_BACKEND == "openai")


# Image calls, each paced by the rate limit shared by every worker: the caller says what it wants, the pacing is ours.


def new_image(prompt: str, *, shape: str) -> bytes:
    """An image from text alone, made once the rate limit gives its call a slot."""
    ratelimit.wait_for_slot("image")
    return get_backend().generate_image(prompt, shape=shape)


def edited_image(
    images: list[bytes], prompt: str, *, shape: str, grid: tuple[int, int] | None = None, delay: float | None = None
) -> bytes:
    """An image made from others, once the rate limit gives its call a slot; or, with `delay` (from `image_slots`,
    for a call made in a thread that must not touch the database), after that many seconds."""
    if delay is None:
        ratelimit.wait_for_slot("image")
    elif delay > 0:
        time.sleep(delay)
    return get_backend().edit_image(images, prompt, shape=shape, grid=grid)


def image_slots(count: int) -> list[float]:
    """Slots for `count` image calls made later, reserved now: how many seconds each call waits for its slot."""
    return [ratelimit.reserve("image") for _ in range(count)]


# The pipeline's images, asked for in its own words; the prompts are the backends' business.


def base_selfie(sitter: Sitter, *, reference: bytes | None = None) -> bytes:
    """A persona's base selfie: from text alone, or with the face of `reference`."""
    prompt = prompts.base_selfie_prompt(sitter, with_reference=reference is not None)
    if reference is None:
        return new_image(prompt, shape="square")
    return edited_image([reference], prompt, shape="square")


def photo_grid(
    base: bytes, sitter: Sitter, *, layout: Layout, ideas: list[str], part: int, parts: int, delay: float
) -> bytes:
    """One grid of photos of the person in `base`, one per idea in reading order (or, for a persona without ideas,
    `part` of its `parts`, each steered to other scenes), after `delay` seconds (from `image_slots`)."""
    cols, rows = layout
    prompt = prompts.grid_prompt(sitter, cols=cols, rows=rows, ideas=ideas, part=part, parts=parts)
    return edited_image([base], prompt, shape=grid_shape(layout), grid=layout, delay=delay)


def replacement_photo(base: bytes, tile: bytes, sitter: Sitter, *, idea: str = "") -> bytes:
    """One photo of the person in `base`, in the scene of `tile` (and its idea)."""
    prompt = prompts.replacement_prompt(sitter, idea)
    return edited_image([base, tile], prompt, shape="square")
