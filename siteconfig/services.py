"""Write paths for the bio prompts and flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from siteconfig.defaults import DEFAULT_BIO_PROMPTS, PLATFORMS, bio_prompt_key
from siteconfig.models import Settings


@dataclass(frozen=True)
class ReseedOutcome:
    key: str
    action: str  # "added", "replaced", "unchanged" or "kept"

    def describe(self) -> str:
        return {
            "added": f"added    {self.key}",
            "replaced": f"replaced {self.key} (edited prompt overwritten with the default)",
            "unchanged": f"left     {self.key} (already the default)",
            "kept": f"left     {self.key} (edited; --force overwrites it)",
        }[self.action]


@transaction.atomic
def reseed_prompts(*, force: bool = False, platforms: Iterable[str] | None = None) -> list[ReseedOutcome]:
    """Restore the default bio prompts: add the missing ones, and with `force` overwrite edited
    ones too. `platforms` limits it to some of facebook, instagram, x, tiktok."""
    chosen = list(platforms) if platforms else list(PLATFORMS)
    unknown = sorted(set(chosen) - set(PLATFORMS))
    if unknown:
        raise ValueError(f"Unknown platform(s): {', '.join(unknown)}. Choose from: {', '.join(PLATFORMS)}.")
    keys = [bio_prompt_key(platform) for platform in PLATFORMS if platform in chosen]
    stored = {s.key: s for s in Settings.objects.select_for_update().filter(key__in=keys)}
    outcomes = []
    for key in keys:
        default = DEFAULT_BIO_PROMPTS[key]
        setting = stored.get(key)
        if setting is None:
            Settings.objects.create(key=key, value=default)
            action = "added"
        elif setting.value == default:
            action = "unchanged"
        elif force:
            setting.value = default
            setting.save(update_fields=["value", "updated_at"])
            action = "replaced"
        else:
            action = "kept"
        outcomes.append(ReseedOutcome(key, action))
    return outcomes
