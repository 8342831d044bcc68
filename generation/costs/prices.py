"""What an API call costs: a price table, which operators override with OPENAI_PRICES (JSON, read by the OpenAI
integration and handed over in the backend's plan: generation/costs/plans.py), and the arithmetic.

Prices are per million tokens, by kind of token, as OpenAI bills its GPT Image and text models. A model may also
carry a price per image, by quality, for servers that answer without a `usage` block. A model the table does not
name costs nothing and is marked unpriced, so the pages say "price unknown" rather than show a made-up figure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

from generation.costs import plans

TOKEN_KINDS = ("text_input", "image_input", "text_output", "image_output")
PER_MILLION = Decimal(1_000_000)

# USD, from OpenAI's published pricing as of 2026-11 (README, "Costs and budgets"): per million tokens by kind,
# and per 1024x1024 image by quality where only that is published. A figure we do not know is left out: the call is
# then "price unknown", never guessed. Operators add or change any of it with OPENAI_PRICES.
DEFAULT_PRICES: dict[str, dict] = {
    "gpt-image-2": {"per_million": {"text_input": "5", "image_input": "8", "image_output": "30"}},
    "gpt-image-1": {"per_million": {"text_input": "5", "image_input": "10", "image_output": "40"}},
    "gpt-image-1-mini": {
        "per_million": {"text_input": "2", "image_input": "2.5", "image_output": "8"},
        "per_image": {"low": "0.005", "high": "0.036"},
    },
    "gpt-image-1.5": {"per_image": {"low": "0.009", "high": "0.133"}},
    "gpt-5-mini": {"per_million": {"text_input": "0.25", "text_output": "2"}},
}


@dataclass(frozen=True)
class Usage:
    """Tokens one call used, as its answer reported them (all 0 when it reported none)."""

    text_input: int = 0
    image_input: int = 0
    text_output: int = 0
    image_output: int = 0
    images: int = 0  # images the answer carried

    @property
    def reported(self) -> bool:
        return any((self.text_input, self.image_input, self.text_output, self.image_output))


@dataclass(frozen=True)
class Price:
    usd: Decimal
    known: bool


def _decimal(value, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError as error:
        raise ImproperlyConfigured(f"OPENAI_PRICES: {where} is {value!r}, not a number.") from error
    if number < 0 or not number.is_finite():
        raise ImproperlyConfigured(f"OPENAI_PRICES: {where} is {value!r}; a price is a number of 0 or more.")
    return number


def parse(table: dict) -> dict[str, dict[str, dict[str, Decimal]]]:
    """The table checked and as Decimals; a clear ImproperlyConfigured for anything else."""
    if not isinstance(table, dict):
        raise ImproperlyConfigured("OPENAI_PRICES must be a JSON object of model name → prices.")
    parsed = {}
    for model, entry in table.items():
        if not isinstance(entry, dict) or not set(entry) <= {"per_million", "per_image"}:
            raise ImproperlyConfigured(f'OPENAI_PRICES: {model!r} needs "per_million" and/or "per_image" objects.')
        per_million = entry.get("per_million", {})
        per_image = entry.get("per_image", {})
        if not isinstance(per_million, dict) or not isinstance(per_image, dict):
            raise ImproperlyConfigured(f"OPENAI_PRICES: {model!r}: per_million and per_image are objects.")
        unknown = set(per_million) - set(TOKEN_KINDS)
        if unknown:
            raise ImproperlyConfigured(
                f"OPENAI_PRICES: {model!r} prices unknown token kinds {sorted(unknown)}; use {', '.join(TOKEN_KINDS)}."
            )
        parsed[model] = {
            "per_million": {kind: _decimal(v, f"{model}.per_million.{kind}") for kind, v in per_million.items()},
            "per_image": {quality: _decimal(v, f"{model}.per_image.{quality}") for quality, v in per_image.items()},
        }
    return parsed


def table() -> dict[str, dict[str, dict[str, Decimal]]]:
    """The defaults, with the plan's prices (OPENAI_PRICES) laid over them model by model (read each time: it is a
    small table)."""
    return parse(DEFAULT_PRICES) | parse(plans.current().prices)


def cost(model: str, usage: Usage, *, quality: str = "") -> Price:
    """The price of one call: its tokens at the model's token prices, or, when the answer reported no usage, its
    images at the per-image price. Unknown model or no price that applies: 0, not known."""
    entry = table().get(model)
    if entry is None:
        return Price(Decimal(0), False)
    if usage.reported:
        rates = entry["per_million"]
        used = {kind: getattr(usage, kind) for kind in TOKEN_KINDS if getattr(usage, kind)}
        if not set(used) <= set(rates):
            return Price(Decimal(0), False)
        return Price(sum((rates[kind] * used[kind] for kind in used), Decimal(0)) / PER_MILLION, True)
    if usage.images and quality in entry["per_image"]:
        return Price(entry["per_image"][quality] * usage.images, True)
    return Price(Decimal(0), not usage.images)
