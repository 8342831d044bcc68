"""The backend the settings name: `openai` talks to OpenAI or any compatible server; `offline` needs no network.
The pipeline never knows which one it has. The contract's names are re-exported, so callers say `backends.X`."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from generation.costs.plans import Plan
from generation.integrations.contract import (
    BackendError,
    FatalBackendError,
    GenerationBackend,
    MalformedAnswerError,
    PersonaRequest,
    RefusedError,
    RejectedInputError,
    TransientBackendError,
)
from generation.integrations.offline import OfflineBackend
from generation.integrations.openai import asks
from generation.integrations.openai.backend import OpenAIBackend

__all__ = [
    "BackendError",
    "FatalBackendError",
    "GenerationBackend",
    "MalformedAnswerError",
    "PersonaRequest",
    "RefusedError",
    "RejectedInputError",
    "TransientBackendError",
    "get_backend",
    "plan",
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
