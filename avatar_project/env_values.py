"""Settings whose values are checked as they are read: a value that would mean something else, or fail later,
stops start-up with a message that says what is allowed."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import environ
from django.core.exceptions import ImproperlyConfigured

from siteconfig.defaults import MOST_USD


def budget(env: environ.Env, name: str, default: str) -> Decimal | None:
    """A spending cap in USD: empty is no cap, 0 lets nothing be spent, and a negative, a non-number or more than a
    budget column holds is refused here, at start-up, rather than read as something else or failing later."""
    raw = env.str(name, default=default).strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not 0 <= amount <= MOST_USD:
        raise ImproperlyConfigured(
            f"{name} must be an amount in USD from 0 to {MOST_USD}, or empty for no cap (not {raw!r}); 0 lets "
            "nothing be spent."
        )
    return amount.quantize(Decimal("0.01"))


def count_or_none(env: environ.Env, name: str, default: str) -> int | None:
    """A whole number of 1 or more, or None (no cap) when the setting is empty."""
    raw = env.str(name, default=default).strip()
    if raw and not (raw.isdigit() and int(raw) >= 1):
        raise ImproperlyConfigured(f"{name} must be a whole number of 1 or more, or empty for no cap (not {raw!r}).")
    return int(raw) if raw else None


def image_origins(env: environ.Env, options: dict, bucket: str) -> list[str]:
    """Where the pages load images from: our own origin, plus the storage's public host."""
    origins = env.list("IMAGE_ORIGINS", default=[])
    if options.get("custom_domain"):
        origins.append(f"https://{options['custom_domain']}")
    elif options.get("endpoint_url"):
        origins.append(options["endpoint_url"].rstrip("/"))
    elif bucket:
        origins.append("https://*.amazonaws.com")
    return origins


def output_format(env: environ.Env, default_format: str, default_compression: int) -> tuple[str, int]:
    """OPENAI_OUTPUT_FORMAT and OPENAI_OUTPUT_COMPRESSION: what the image API is asked to answer in."""
    image_format = env.str("OPENAI_OUTPUT_FORMAT", default=default_format)
    compression = env.int("OPENAI_OUTPUT_COMPRESSION", default=default_compression)
    if image_format not in ("", "jpeg", "png", "webp") or not 0 <= compression <= 100:
        raise ImproperlyConfigured(
            f"OPENAI_OUTPUT_FORMAT must be jpeg, png, webp or empty (not {image_format!r}), and "
            f"OPENAI_OUTPUT_COMPRESSION a number from 0 to 100 (not {compression})."
        )
    return image_format, compression
