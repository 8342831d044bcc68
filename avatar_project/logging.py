"""A log filter that blanks out configured secrets (API key, storage keys, database password,
SECRET_KEY) and any PEM private key (the C2PA signing key) wherever they would appear in a log line,
including in exception text."""

from __future__ import annotations

import logging
import os
import re
from functools import cache

from django.conf import settings

SECRET_SETTINGS = ("OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "SECRET_KEY")
MASK = "[redacted]"
# Secrets shorter than this are blanked only where they stand as a whole token (not inside a longer word or
# number), so that a short password does not blank out every word that contains it.
SHORT_SECRET = 8
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL)


@cache
def secrets() -> tuple[re.Pattern[str], ...]:
    values = [getattr(settings, name, "") or os.environ.get(name, "") for name in SECRET_SETTINGS]
    values.append(settings.DATABASES["default"].get("PASSWORD") or "")
    patterns = []
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        escaped = re.escape(value)
        if len(value) < SHORT_SECRET:
            escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
        patterns.append(re.compile(escaped))
    return tuple(patterns)


def redact(text: str) -> str:
    text = PRIVATE_KEY.sub(MASK, text)
    for secret in secrets():
        text = secret.sub(MASK, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as it is
            return True
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def logging_config(level: str) -> dict:
    """The LOGGING setting: plain lines on the console, secrets redacted, the clients' per-request lines quiet."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "filters": {"redact_secrets": {"()": "avatar_project.logging.RedactSecrets"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            # One line per HTTP request from the API and storage clients is noise, not a pipeline step.
            **{
                name: {"level": "WARNING"}
                for name in ("httpx", "httpx2", "botocore", "boto3", "urllib3", "werkzeug", "axes")
            },
        },
    }
