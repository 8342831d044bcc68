"""What we ask the models, in words. The bio prompts themselves are editable (siteconfig); the
framing around them lives here."""

from __future__ import annotations

from generation.integrations.contract import PersonaRequest
from siteconfig.defaults import BIO_LIMITS


def persona_schema(count: int) -> dict:
    """The JSON schema of an answer of exactly `count` personas (structured outputs hold the model to it)."""
    return {
        "type": "object",
        "properties": {
            "personas": {
                "type": "array",
                "minItems": count,
                "maxItems": count,
                "items": PERSONA_ITEM,
            }
        },
        "required": ["personas"],
        "additionalProperties": False,
    }


PERSONA_ITEM = {
    "type": "object",
    "properties": {
        "firstname": {"type": "string"},
        "lastname": {"type": "string"},
        "gender": {"type": "string", "enum": ["f", "m"]},
        "bio_facebook": {"type": "string"},
        "bio_instagram": {"type": "string"},
        "bio_x": {"type": "string"},
        "bio_tiktok": {"type": "string"},
    },
    "required": ["firstname", "lastname", "gender", "bio_facebook", "bio_instagram", "bio_x", "bio_tiktok"],
    "additionalProperties": False,
}

PERSONA_SYSTEM = (
    "You invent realistic, clearly fictional people for synthetic social-media test data. Each "
    "person gets a first name and a last name that fit the culture the description implies, a "
    "gender ('f' or 'm'), and one bio for each platform, written by the person themselves. People "
    "in one answer must differ from each other: names, ages, jobs, tastes and voices. Never use "
    "the names of real public figures. Answer only with JSON that follows the given schema."
)


def persona_messages(request: PersonaRequest) -> list[dict[str, str]]:
    platform_rules = "\n".join(
        f"- bio_{platform} (never more than {BIO_LIMITS[platform]} characters, spaces and emojis included): "
        f"{prompt.strip()}"
        for platform, prompt in request.bio_prompts.items()
    )
    avoid = ""
    if request.person:
        avoid = f"\nWrite new bios for one person who exists already: {request.person}. Keep that name and gender.\n"
    elif request.avoid_names:
        avoid = "\nThese names are taken already; do not use them again: " + ", ".join(request.avoid_names) + "\n"
    user = (
        f"Who they are: {request.description.strip()}\n"
        f"Write every bio in {request.language}; names suit the people described.\n"
        f"How to write each bio:\n{platform_rules}\n"
        f"{avoid}"
        f"Give exactly {request.count} people."
    )
    return [{"role": "system", "content": PERSONA_SYSTEM}, {"role": "user", "content": user}]


def base_selfie_prompt(*, firstname: str, gender: str, description: str, with_reference: bool) -> str:
    person = "woman" if gender == "f" else "man"
    who = f"{firstname}, a {person} who fits this description: {description.strip()}"
    if with_reference:
        start = f"Use the face in the reference photo as the face of {who}. Keep that face recognisable. "
    else:
        start = f"A photo of {who}. "
    return (
        start + "A casual smartphone selfie at arm's length, head and shoulders, looking at the camera, "
        "natural daylight, an everyday background that suits their life, true-to-life skin texture, "
        "no filters, no text, no watermark, a single person only."
    )


# When a persona's photos come from several grids, each grid is steered to other scenes.
PART_SCENES = {
    1: "This set is mostly daytime and outdoors.",
    2: "This set is mostly evening, indoors and with friends or at work; avoid the scenes of a daytime set.",
    3: "This set is about their work or studies, and the places they go for it; avoid leisure scenes.",
    4: "This set is about weekends and holidays: travel, family, sport or a hobby, away from home.",
    5: "This set is quiet moments at home and in their neighbourhood, across the seasons.",
}


def grid_prompt(
    *, firstname: str, gender: str, description: str, cols: int, rows: int, part: int = 1, parts: int = 1
) -> str:
    person = "woman" if gender == "f" else "man"
    count = cols * rows
    scenes = f" {PART_SCENES.get(part, '')}" if parts > 1 else ""
    return (
        f"Make one image that is a photo grid of {cols} columns and {rows} rows, "
        f"{count} separate photos of the same {person}, {firstname}, from the reference photo. The face, "
        "age, skin, hair and build stay exactly those of the reference in every photo. Vary everything "
        "else: places, outfits, times of day, camera angles and distances (close-up, half body, full "
        f"body), activities that fit this person: {description.strip()}. Every photo looks like an "
        "ordinary phone picture posted on social media. Separate the photos with thin plain white lines, "
        f"no borders with text, no captions, no collage effects, one person per photo.{scenes}"
    )


def replacement_prompt(*, firstname: str, gender: str) -> str:
    """One photo to stand in for a tile the face check rejected: the person of the first image, in the scene of
    the second."""
    person = "woman" if gender == "f" else "man"
    return (
        f"Make one single photo, not a grid, of {firstname}, the {person} in the first image, in the scene of the "
        "second image: the same place, light, outfit, framing and activity. The face, age, skin, hair and build are "
        "exactly those of the first image. Only this one person is in the photo, and the whole face is inside the "
        "frame. An ordinary phone picture, no text, no borders."
    )
