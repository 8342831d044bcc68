"""What the server answers: a Reply (or a dropped connection), and OpenAI-style error objects."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def error_payload(status: int, code: str | None = None, message: str | None = None) -> dict:
    """An OpenAI-style error object; the ``type`` follows the status like the real API's does."""
    default_type, default_code, default_message = ERROR_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    code = code if code is not None else default_code
    err_type = "insufficient_quota" if code == "insufficient_quota" else default_type
    return {"error": {"message": message or default_message, "type": err_type, "param": None, "code": code}}
