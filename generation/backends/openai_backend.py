"""OpenAI, or any server that speaks its wire format (vLLM, Ollama, LocalAI…), through the
official client. This is the only module that knows about HTTP."""

from __future__ import annotations

import base64
import json
import logging

import openai
from django.conf import settings

from generation.backends import (
    FatalBackendError,
    MalformedAnswerError,
    PersonaRequest,
    RefusedError,
    TransientBackendError,
)
from generation.prompts import PERSONA_SCHEMA, persona_messages

log = logging.getLogger(__name__)

# Image models that take `input_fidelity` (others reject it or keep faces without it).
INPUT_FIDELITY_MODELS = ("gpt-image-1.5", "gpt-image-1")
FATAL_CODES = {"insufficient_quota", "invalid_api_key", "model_not_found", "billing_hard_limit_reached"}
REFUSAL_CODES = {"moderation_blocked", "content_policy_violation", "image_generation_user_error"}


def _reason(error: openai.APIStatusError) -> str:
    """The server's own message, without anything that could echo the key."""
    message = getattr(error, "message", "") or str(error)
    if settings.OPENAI_API_KEY:
        message = message.replace(settings.OPENAI_API_KEY, "[key]")
    return message[:500]


def translate(error: openai.OpenAIError) -> Exception:
    """Map the client's errors onto the pipeline's three outcomes, with what to fix."""
    if isinstance(error, openai.APITimeoutError):
        return TransientBackendError("The API did not answer in time.")
    if isinstance(error, openai.APIConnectionError):
        return TransientBackendError("The connection to the API failed or was dropped.")
    if not isinstance(error, openai.APIStatusError):
        return TransientBackendError(f"API client error: {error}")
    code = error.code or ""
    status = error.status_code
    if status == 429 and code in FATAL_CODES:
        return FatalBackendError(f"The API account has no quota left ({code}): add credit or raise the limit.")
    if status == 429:
        return TransientBackendError(f"Rate limited by the API (429): {_reason(error)}")
    if status >= 500:
        return TransientBackendError(f"The API failed ({status}): {_reason(error)}")
    if code in REFUSAL_CODES:
        return RefusedError(f"Refused by the model's moderation ({code}).")
    if status == 401:
        return FatalBackendError(f"The API key was rejected (401): check OPENAI_API_KEY. {_reason(error)}")
    if status == 403:
        return FatalBackendError(f"The API key may not use this model or endpoint (403): {_reason(error)}")
    if status == 404:
        return FatalBackendError(
            f"Unknown model or endpoint (404): check OPENAI_TEXT_MODEL / OPENAI_IMAGE_MODEL / OPENAI_BASE_URL. "
            f"{_reason(error)}"
        )
    if status in (408, 409):
        return TransientBackendError(f"The API asked to try again ({status}).")
    return FatalBackendError(f"The API rejected the request ({status}): {_reason(error)}")


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
    ):
        self.client = client
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
            max_retries=settings.OPENAI_MAX_RETRIES,
            timeout=settings.OPENAI_IMAGE_TIMEOUT,
        )
        return cls(
            client,
            text_model=settings.OPENAI_TEXT_MODEL,
            image_model=settings.OPENAI_IMAGE_MODEL,
            quality=settings.OPENAI_IMAGE_QUALITY,
            fidelity=settings.OPENAI_INPUT_FIDELITY,
            output_format=settings.OPENAI_OUTPUT_FORMAT,
            output_compression=settings.OPENAI_OUTPUT_COMPRESSION,
        )

    def generate_personas(self, request: PersonaRequest) -> list[dict]:
        try:
            completion = self.client.chat.completions.create(
                model=self.text_model,
                messages=persona_messages(request),
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "personas", "strict": True, "schema": PERSONA_SCHEMA},
                },
                timeout=settings.OPENAI_TEXT_TIMEOUT,
            )
        except openai.OpenAIError as error:
            raise translate(error) from error
        if not completion.choices:
            raise MalformedAnswerError("The model answered with no choices.")
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise RefusedError(f"The model refused: {message.refusal[:200]}")
        try:
            answer = json.loads(message.content or "")
        except json.JSONDecodeError as error:
            raise MalformedAnswerError("The model's answer was not valid JSON.") from error
        personas = answer.get("personas") if isinstance(answer, dict) else None
        if not isinstance(personas, list):
            raise MalformedAnswerError("The model's answer had no list of personas.")
        return personas

    def generate_image(self, prompt: str, *, size: str) -> bytes:
        try:
            response = self.client.images.generate(
                model=self.image_model, prompt=prompt, size=size, quality=self.quality, n=1, **self.output
            )
        except openai.OpenAIError as error:
            raise translate(error) from error
        return self._image_bytes(response)

    def edit_image(self, references: list[bytes], prompt: str, *, size: str, grid: tuple[int, int] | None) -> bytes:
        extra = dict(self.output)
        if self.fidelity and self.image_model.startswith(INPUT_FIDELITY_MODELS):
            extra["input_fidelity"] = self.fidelity
        files = [(f"reference-{n}.png", data, _mime(data)) for n, data in enumerate(references, 1)]
        try:
            response = self.client.images.edit(
                model=self.image_model, image=files, prompt=prompt, size=size, quality=self.quality, n=1, **extra
            )
        except openai.OpenAIError as error:
            raise translate(error) from error
        return self._image_bytes(response)

    @staticmethod
    def _image_bytes(response) -> bytes:
        if not response.data or not response.data[0].b64_json:
            raise MalformedAnswerError("The image API answered without an image.")
        try:
            return base64.b64decode(response.data[0].b64_json)
        except ValueError as error:
            raise MalformedAnswerError("The image API answered with undecodable data.") from error


def _mime(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"
