"""OpenAI, or any server that speaks its wire format (vLLM, Ollama, LocalAI…), through the
official client. This is the only module that knows about HTTP."""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import openai
from django.conf import settings

from generation.costs import calls
from generation.imaging.grids import Shape
from generation.integrations.contract import (
    FatalBackendError,
    IdeasRequest,
    MalformedAnswerError,
    PersonaRequest,
    RefusedError,
    RejectedInputError,
    TransientBackendError,
)
from generation.integrations.image_guard import BadImage, check_image
from generation.integrations.openai import asks
from generation.integrations.prompts import ideas_messages, ideas_schema, persona_messages, persona_schema
from generation.models import ApiCall

log = logging.getLogger(__name__)
Answer = TypeVar("Answer")

# Image models that take `input_fidelity` (others reject it or keep faces without it).
INPUT_FIDELITY_MODELS = ("gpt-image-1.5", "gpt-image-1")
# Codes that every further call would meet, whatever the status they come with (quota errors come as 429).
FATAL_CODES = {
    "insufficient_quota": "The API account has no quota left ({code}): add credit or raise the limit.",
    "billing_hard_limit_reached": "The API account reached its billing limit ({code}): raise it.",
    "billing_not_active": "The API account has no active billing ({code}).",
    "invalid_api_key": "The API key was rejected ({code}): check OPENAI_API_KEY.",
    "account_deactivated": "The API account is deactivated ({code}).",
    "model_not_found": "Unknown model ({code}): check OPENAI_TEXT_MODEL and OPENAI_IMAGE_MODEL.",
}
REFUSAL_CODES = {"moderation_blocked", "content_policy_violation", "image_generation_user_error"}
CHAT_KINDS = (ApiCall.Kind.PERSONAS, ApiCall.Kind.BIOS, ApiCall.Kind.IDEAS)
# Longest wait between two tries of one call, whatever Retry-After asks.
MAX_RETRY_WAIT = 60.0


def _reason(error: openai.APIStatusError) -> str:
    """The server's own message, without anything that could echo the key."""
    message = getattr(error, "message", "") or str(error)
    if settings.OPENAI_API_KEY:
        message = message.replace(settings.OPENAI_API_KEY, "[key]")
    return message[:500]


def translate(error: openai.OpenAIError) -> Exception:
    """Map the client's errors onto the pipeline's outcomes, with what to fix: transient (try again), fatal (stop
    the task: every call would fail), refused or rejected (this unit fails, the task goes on)."""
    if isinstance(error, openai.APITimeoutError):
        return TransientBackendError("The API did not answer in time.")
    if isinstance(error, openai.APIConnectionError):
        return TransientBackendError("The connection to the API failed or was dropped.")
    if not isinstance(error, openai.APIStatusError):
        return TransientBackendError(f"API client error: {error}")
    code = str(error.code or "")
    status = error.status_code
    signature = f"{status}:{code or getattr(error, 'param', None) or 'none'}"
    if code in FATAL_CODES:
        return FatalBackendError(f"{FATAL_CODES[code].format(code=code)} {_reason(error)}", code=signature)
    if status == 401:
        return FatalBackendError(f"The API key was rejected (401): check OPENAI_API_KEY. {_reason(error)}")
    if status == 403:
        return FatalBackendError(
            f"The API key may not use this model or endpoint (403): check OPENAI_IMAGE_MODEL, OPENAI_TEXT_MODEL and "
            f"the key's project. {_reason(error)}"
        )
    if status == 404:
        return FatalBackendError(
            f"Unknown model or endpoint (404): check OPENAI_TEXT_MODEL / OPENAI_IMAGE_MODEL / OPENAI_BASE_URL. "
            f"{_reason(error)}"
        )
    if status == 429:
        return TransientBackendError(f"Rate limited by the API (429): {_reason(error)}")
    if status >= 500 or status in (408, 409):
        return TransientBackendError(f"The API failed or asked to try again ({status}): {_reason(error)}")
    if code in REFUSAL_CODES:
        return RefusedError(f"Refused by the model's moderation ({code}).", code=signature)
    return RejectedInputError(f"The API rejected this request ({status}, {code or 'no code'}): {_reason(error)}",
                              code=signature)  # fmt: skip


def retry_wait(error: openai.OpenAIError, tries: int) -> float:
    """Seconds before the next try: what the server asks (Retry-After), else exponential backoff with jitter."""
    response = getattr(error, "response", None)
    headers = response.headers if response is not None else {}
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            asked = float(headers.get(header, "")) * scale
        except ValueError:
            continue
        if asked >= 0:
            return min(asked, MAX_RETRY_WAIT)
    return min(0.5 * 2**tries, 8.0) * (0.75 + random.random() / 4)


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        text_model: str,
        image_model: str,
        quality: str,
        fidelity: str,
        output_format: str = "",
        output_compression: int | None = None,
        max_retries: int = 2,
    ):
        self.client = client
        self.max_retries = max_retries
        self.text_model = text_model
        self.image_model = image_model
        self.quality = quality
        self.fidelity = fidelity
        # Sent with every image call when set; compression only applies to the lossy formats.
        self.output: dict[str, object] = {}
        if output_format:
            self.output["output_format"] = output_format
            if output_format in ("jpeg", "webp") and output_compression is not None:
                self.output["output_compression"] = output_compression

    @classmethod
    def from_settings(cls) -> OpenAIBackend:
        client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY or "not-needed",
            base_url=settings.OPENAI_BASE_URL,
            # Retries are ours (`_call`): the client's would retry a 429 that says the quota is gone.
            max_retries=0,
            timeout=settings.OPENAI_IMAGE_TIMEOUT,
        )
        return cls(
            client,
            max_retries=settings.OPENAI_MAX_RETRIES,
            text_model=settings.OPENAI_TEXT_MODEL,
            image_model=settings.OPENAI_IMAGE_MODEL,
            quality=settings.OPENAI_IMAGE_QUALITY,
            fidelity=settings.OPENAI_INPUT_FIDELITY,
            output_format=settings.OPENAI_OUTPUT_FORMAT,
            output_compression=settings.OPENAI_OUTPUT_COMPRESSION,
        )

    def _call(
        self, request: Callable[[], object], parse: Callable[[object], Answer], *, kind: str, size: str = ""
    ) -> Answer:
        """One logical API call: tried again on transient errors, up to OPENAI_MAX_RETRIES times, waiting as the
        server asks; any other error is raised at once, translated, with no further (paid) try. Every try is
        recorded with its usage and cost as it ends (generation/costs/calls.py): retries are paid too."""
        model = self.text_model if kind in CHAT_KINDS else self.image_model
        quality = "" if kind in CHAT_KINDS else self.quality
        tries = 0
        while True:
            calls.before_try()
            started = time.monotonic()
            answer = None
            try:
                answer = request()
                result = parse(answer)
            except (openai.OpenAIError, BadImage, RefusedError, MalformedAnswerError) as error:
                problem = translate(error) if isinstance(error, openai.OpenAIError) else error
                again = isinstance(problem, TransientBackendError | BadImage) and tries < self.max_retries
                if again:
                    outcome = ApiCall.Outcome.RETRIED
                elif isinstance(problem, RefusedError):
                    outcome = ApiCall.Outcome.REFUSED
                else:
                    outcome = ApiCall.Outcome.FAILED
                calls.record(kind=kind, model=model, outcome=outcome, seconds=time.monotonic() - started,
                             usage=calls.usage_of(answer), http_status=getattr(error, "status_code", None) or (
                                 200 if answer is not None else None), size=size, quality=quality)  # fmt: skip
                if not again:
                    if problem is error:
                        raise
                    raise problem from error
                wait = retry_wait(error, tries)
                log.info("API call failed (%s); try %s of %s in %.1f s", problem, tries + 2, self.max_retries + 1, wait)
                time.sleep(wait)
                tries += 1
                continue
            calls.record(kind=kind, model=model, outcome=ApiCall.Outcome.OK, seconds=time.monotonic() - started,
                         usage=calls.usage_of(answer), http_status=200, size=size, quality=quality)  # fmt: skip
            return result

    def _structured(self, messages: list[dict], name: str, schema: dict, *, answer: str, kind: str) -> list:
        """One chat call whose answer is held to `schema` (strict structured outputs); returns its list `answer`."""
        return self._call(
            lambda: self.client.chat.completions.create(
                model=self.text_model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": name, "strict": True, "schema": schema},
                },
                timeout=settings.OPENAI_TEXT_TIMEOUT,
            ),
            lambda completion: _answer_list(completion, answer),
            kind=kind,
        )

    def generate_personas(self, request: PersonaRequest) -> list[dict]:
        return self._structured(persona_messages(request), "personas", persona_schema(request), answer="personas",
                                kind=calls.chat_kind())  # fmt: skip

    def write_photo_ideas(self, request: IdeasRequest) -> list[str]:
        return self._structured(ideas_messages(request), "photo_ideas", ideas_schema(request.count), answer="ideas",
                                kind=ApiCall.Kind.IDEAS)  # fmt: skip

    def generate_image(self, prompt: str, *, shape: Shape) -> bytes:
        size = asks.size(shape)
        return self._call(
            lambda: self.client.images.generate(
                model=self.image_model, prompt=prompt, size=size, quality=self.quality, n=1, **self.output
            ),
            lambda answer: self._image(answer, size),
            kind=ApiCall.Kind.BASE,
            size=size,
        )

    def edit_image(self, references: list[bytes], prompt: str, *, shape: Shape, grid: tuple[int, int] | None) -> bytes:
        size = asks.size(shape)
        extra = dict(self.output)
        if self.fidelity and self.image_model.startswith(INPUT_FIDELITY_MODELS):
            extra["input_fidelity"] = self.fidelity
        files = [(f"reference-{n}.png", data, _mime(data)) for n, data in enumerate(references, 1)]
        if grid:
            kind = ApiCall.Kind.GRID
        else:
            kind = ApiCall.Kind.FACE_SWAP if len(references) == 1 else ApiCall.Kind.REPLACEMENT
        return self._call(
            lambda: self.client.images.edit(
                model=self.image_model, image=files, prompt=prompt, size=size, quality=self.quality, n=1, **extra
            ),
            lambda answer: self._image(answer, size),
            kind=kind,
            size=size,
        )

    def _image(self, response, size: str) -> bytes:
        """The answer's image, checked (image_guard): a bad one is asked again like a transient error."""
        if not response.data or not response.data[0].b64_json:
            raise BadImage("The image API answered without an image.")
        try:
            data = base64.b64decode(response.data[0].b64_json, validate=True)
        except ValueError as error:
            raise BadImage("The image API answered with undecodable data.") from error
        check_image(data, size=size, output_format=self.output.get("output_format", ""))
        return data


def _answer_list(completion, name: str) -> list:
    """The list `name` of a chat answer; a refusal or an answer of the wrong shape raises (and is recorded so)."""
    if not completion.choices:
        raise MalformedAnswerError("The model answered with no choices.")
    message = completion.choices[0].message
    if getattr(message, "refusal", None):
        raise RefusedError(f"The model refused: {message.refusal[:200]}", code="refusal")
    try:
        answer = json.loads(message.content or "")
    except json.JSONDecodeError as error:
        raise MalformedAnswerError("The model's answer was not valid JSON.") from error
    found = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(found, list):
        raise MalformedAnswerError(f"The model's answer had no list of {name}.")
    return found


def _mime(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"
