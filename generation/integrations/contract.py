"""The one small interface the pipeline drives (personas from a text model, images from an image model), the
request it takes and the errors it raises. `backends.get_backend()` picks the implementation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from generation.imaging.grids import Shape


class BackendError(Exception):
    """Base of the errors a backend raises; the message is meant for the task's error log. `code` says what the
    API answered ("400:invalid_value"), so that the same rejection repeated can be told apart from chance."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class TransientBackendError(BackendError):
    """Worth trying again later: rate limits, server errors, timeouts, dropped connections."""


class FatalBackendError(BackendError):
    """Every further call would fail the same way (rejected key, no permission, exhausted quota, unknown model):
    stop the task at once."""


class RefusedError(BackendError):
    """The model refused this request (moderation, a refusal): this unit fails, another input may pass."""


class RejectedInputError(BackendError):
    """The API rejected this one request (a 400 on its image, an invalid value): this unit fails, the task goes on,
    unless the same rejection comes back unit after unit."""


class MalformedAnswerError(BackendError):
    """The answer could not be read (not JSON, wrong shape): asking again may help."""


@dataclass(frozen=True)
class PersonaRequest:
    description: str
    language: str
    count: int
    bio_prompts: dict[str, str]  # platform -> prompt
    avoid_names: list[str] = field(default_factory=list)
    # For new bios of a persona already made: who they are ("Ana Costa (a woman)"); their name and gender stay.
    person: str = ""


class GenerationBackend(Protocol):
    name: str

    def generate_personas(self, request: PersonaRequest) -> list[dict]:
        """Raw persona dicts (firstname, lastname, gender, bio_<platform>); the pipeline validates them."""

    def generate_image(self, prompt: str, *, shape: Shape) -> bytes:
        """One image from a text prompt, as encoded bytes (PNG or JPEG), in the shape asked ("square", "portrait"):
        the backend chooses its pixels."""

    def edit_image(self, references: list[bytes], prompt: str, *, shape: Shape, grid: tuple[int, int] | None) -> bytes:
        """One image made from reference images; `grid` (columns, rows) when a photo grid is asked."""
