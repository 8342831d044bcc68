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
class Skeleton:
    """One person as the code drew them before any call; the model writes the rest around it."""

    slot: int  # its place in the task's draw
    gender: str  # "f" or "m"
    age: int
    firstname: str = ""  # "" when the locale has no names: the model proposes them
    lastname: str = ""

    @property
    def ref(self) -> str:
        return f"p{self.slot}"

    @property
    def named(self) -> bool:
        return bool(self.firstname and self.lastname)

    @property
    def name_key(self) -> str:
        return f"{self.firstname} {self.lastname}".casefold()


@dataclass(frozen=True)
class PersonaRequest:
    description: str
    language: str
    count: int
    bio_prompts: dict[str, str]  # platform -> prompt
    avoid_names: list[str] = field(default_factory=list)
    # For new bios of a persona already made: who they are, profile included; only the bios are written.
    person: str = ""
    people: tuple[Skeleton, ...] = ()  # one per persona asked for: its profile is written around it
    country: str = ""  # where they live, by name ("" when the request does not say)
    photo_ideas: int = 0  # photo ideas per persona


@dataclass(frozen=True)
class IdeasRequest:
    """New photo ideas for a persona already made (new photos of them): who they are, and the ideas to leave."""

    person: str
    count: int
    avoid: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sitter:
    """Who a photo shows, in the words its prompt needs."""

    firstname: str
    gender: str
    description: str  # the task's, for personas that have no profile
    age: int | None = None
    ethnicity: str = ""
    look: str = ""
    job: str = ""
    town: str = ""

    @property
    def person(self) -> str:
        return "woman" if self.gender == "f" else "man"


class GenerationBackend(Protocol):
    name: str

    def generate_personas(self, request: PersonaRequest) -> list[dict]:
        """Raw persona dicts (ref, names, gender, age, profile, look, interests, photo_ideas, bio_<platform>); the
        pipeline validates them."""

    def write_photo_ideas(self, request: IdeasRequest) -> list[str]:
        """`request.count` new, distinct photo ideas for the person (the pipeline checks them)."""

    def generate_image(self, prompt: str, *, shape: Shape) -> bytes:
        """One image from a text prompt, as encoded bytes (PNG or JPEG), in the shape asked ("square", "portrait"):
        the backend chooses its pixels."""

    def edit_image(self, references: list[bytes], prompt: str, *, shape: Shape, grid: tuple[int, int] | None) -> bytes:
        """One image made from reference images; `grid` (columns, rows) when a photo grid is asked."""
