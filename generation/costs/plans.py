"""What the backend in use asks for, in the figures that prices and the estimate need: its models, the quality and
pixel size of its images, and the price table in force.

Costs sit below the integrations and may not ask them, so the integrations describe themselves to costs instead:
`generation.integrations.backends.plan` builds a Plan from its own settings, and the app's start-up hook hands that
function to `use()`. The Plan is built afresh on every `current()`, so a changed setting counts at once, as it did
when costs read the settings themselves."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from generation.imaging.grids import Shape


@dataclass(frozen=True)
class Plan:
    paid: bool  # False: the backend calls nothing that costs money (the offline generator)
    text_model: str = ""
    image_model: str = ""
    quality: str = ""  # of the images, as the price table names qualities ("low", "medium", "high")
    sizes: Mapping[Shape, str] = field(default_factory=dict)  # "WxH" in pixels, or "auto"
    prices: Mapping[str, dict] = field(default_factory=dict)  # model -> prices, laid over prices.DEFAULT_PRICES

    def size(self, shape: Shape) -> str:
        return self.sizes.get(shape, "")


_source: Callable[[], Plan] | None = None


def use(source: Callable[[], Plan]) -> None:
    """Where `current()` gets the Plan from (GenerationConfig.ready names the integrations' one)."""
    global _source
    _source = source


def current() -> Plan:
    if _source is None:
        raise ImproperlyConfigured("No backend has described what it asks for: GenerationConfig.ready() does that.")
    return _source()
