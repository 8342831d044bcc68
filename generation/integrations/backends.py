"""The backend the settings name: `openai` talks to OpenAI or any compatible server; `offline` needs no network.
The pipeline never knows which one it has. The contract's names are re-exported, so callers say `backends.X`."""

from __future__ import annotations

from functools import cache

from django.conf import settings

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
]


@cache
def get_backend() -> GenerationBackend:
    if settings.GENERATION_BACKEND == "openai":
        return OpenAIBackend.from_settings()
    if settings.GENERATION_BACKEND == "offline":
        return OfflineBackend()
    raise ValueError(f"Unknown GENERATION_BACKEND {settings.GENERATION_BACKEND!r}: use 'openai' or 'offline'.")
