"""What a task asks for, checked at the door: the four documented inputs, and who its people are (ages, a gender
mix, a country). Every way in (the form, `generate`, the admin) goes through `validate_request`."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError

from generation.integrations import countries
from generation.models import DEFAULT_AGES, OLDEST, YOUNGEST, GenerationTask, TaskRequest
from generation.pipeline.text import without_bidi_controls

DESCRIPTION_MAX = 4000
MINORS_REFUSED = (
    f"Nobody under {YOUNGEST}: the photos show realistic people, so every persona is an adult. "
    f"Choose ages from {YOUNGEST} to {OLDEST}."
)


def _whole(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def people_values(*, age_min: object, age_max: object, gender: object, country: object, errors: dict) -> dict:
    """The people part of a request, cleaned; problems go into `errors` by field."""
    youngest, oldest = _whole(age_min), _whole(age_max)
    if youngest is None:
        errors["age_min"] = "Enter the youngest age as a whole number."
    elif youngest < YOUNGEST:
        errors["age_min"] = MINORS_REFUSED
    if oldest is None:
        errors["age_max"] = "Enter the oldest age as a whole number."
    elif oldest < YOUNGEST:
        errors["age_max"] = MINORS_REFUSED
    elif oldest > OLDEST:
        errors["age_max"] = f"The oldest age can be at most {OLDEST}."
    if youngest is not None and oldest is not None and youngest > oldest and "age_min" not in errors:
        errors["age_min"] = "The youngest age cannot be above the oldest."
    if youngest is not None and youngest > OLDEST and "age_min" not in errors:
        errors["age_min"] = f"The youngest age can be at most {OLDEST}."
    mix = str(gender or TaskRequest.Gender.MIXED).strip().lower()
    if mix not in TaskRequest.Gender.values:
        errors["gender"] = "Choose women (f), men (m) or a mix (mixed)."
    code = str(country or "").strip().upper()
    if code and not countries.name_of(code):
        errors["country"] = f"{code[:8]!r} is not a country code: use two letters, such as PT or BR, or leave it empty."
    return {"age_min": youngest, "age_max": oldest, "gender": mix, "country": code}


def validate_request(
    *,
    persona_description: str,
    bio_language: str,
    number_to_generate: object,
    images_per_persona: object,
    age_min: object = DEFAULT_AGES[0],
    age_max: object = DEFAULT_AGES[1],
    gender: object = TaskRequest.Gender.MIXED,
    country: object = "",
    seed: object = None,
) -> dict:
    """Clean the inputs of a task, or raise a ValidationError naming each bad field. The people part comes back
    under "people", with the seed the skeletons will be drawn from (a new one unless given)."""
    errors: dict[str, str] = {}
    description = without_bidi_controls(persona_description or "").strip()
    language = (bio_language or "").strip()
    if not any(character.isalnum() for character in description):
        errors["persona_description"] = "Describe the personas to generate."
    elif len(description) > DESCRIPTION_MAX:
        errors["persona_description"] = f"Keep the description under {DESCRIPTION_MAX} characters."
    if not language:
        errors["bio_language"] = "Choose the language of the bios."
    elif len(language) > 100:
        errors["bio_language"] = "The language name is too long (100 characters at most)."
    maximum = settings.MAX_PERSONAS_PER_TASK
    count = _whole(number_to_generate)
    if count is None or not 1 <= count <= maximum:
        errors["number_to_generate"] = f"Choose a number of personas from 1 to {maximum}."
    images = _whole(images_per_persona)
    if images not in GenerationTask.ImagesPerPersona.values:
        errors["images_per_persona"] = "Choose 4, 8, 12, 16 or 20 images per persona."
    people = people_values(age_min=age_min, age_max=age_max, gender=gender, country=country, errors=errors)
    drawn = secrets.randbits(62) if seed in (None, "") else _whole(seed)
    if drawn is None or not 0 <= drawn < 2**63:
        errors["seed"] = "The seed must be a whole number from 0 to 2^63 - 1."
    if errors:
        raise ValidationError(errors)
    return {
        "persona_description": description,
        "bio_language": language,
        "number_to_generate": count,
        "images_per_persona": images,
        "people": {**people, "seed": drawn},
    }
