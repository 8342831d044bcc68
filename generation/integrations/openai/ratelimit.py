"""API call caps shared by every worker on every machine: each call reserves the next free moment
of its kind in the database and waits for it, so calls are spread evenly at the configured rate
instead of bursting into 429s. With no cap configured nothing is reserved and nothing waits."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction

from generation.models import RateLimitSlot


def limits_for(kind: str) -> list[tuple[str, int]]:
    """The caps an API call of this kind ('text' or 'image') counts against."""
    caps = []
    if kind == "image" and settings.OPENAI_IMAGES_PER_MINUTE:
        caps.append(("images", settings.OPENAI_IMAGES_PER_MINUTE))
    if settings.OPENAI_REQUESTS_PER_MINUTE:
        caps.append(("requests", settings.OPENAI_REQUESTS_PER_MINUTE))
    return caps


def reserve(kind: str) -> float:
    """Reserve a slot for one call and return how many seconds to wait before making it. Slots are spaced a little
    wider than the cap asks (OPENAI_RATE_HEADROOM), so that calls sent a few milliseconds late or early never put
    one call too many in the server's window."""
    wait = 0.0
    pace = 1.0 - settings.OPENAI_RATE_HEADROOM
    for name, per_minute in limits_for(kind):
        wait = max(wait, _reserve_slot(name, 60.0 / (per_minute * pace)))
    return wait


def wait_for_slot(kind: str) -> None:
    delay = reserve(kind)
    if delay > 0:
        time.sleep(delay)


def _reserve_slot(name: str, interval: float) -> float:
    for _ in range(3):
        try:
            with transaction.atomic():
                slot, _ = RateLimitSlot.objects.select_for_update().get_or_create(name=name)
                now = time.time()
                start = max(now, slot.next_at)
                slot.next_at = start + interval
                slot.save(update_fields=["next_at"])
                return start - now
        except IntegrityError:
            continue  # two workers created the row at once; the next try finds it
    raise RuntimeError(f"Could not reserve a rate-limit slot for {name}.")
