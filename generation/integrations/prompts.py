"""What we ask the models, in words. The bio prompts themselves are editable (siteconfig); the framing around them
lives here, with the JSON schemas that hold the text model to its answer's shape."""

from __future__ import annotations

import json

from generation.integrations.contract import IdeasRequest, PersonaRequest, Sitter
from siteconfig.defaults import BIO_LIMITS, PLATFORMS

# The profile the text model writes, by column of generation_results, with the most characters each may hold.
PROFILE_LIMITS = {
    "ethnicity": 100,
    "job_title": 120,
    "workplace": 150,
    "edu_establishment": 150,
    "edu_study": 120,
    "current_city": 100,
    "current_state": 100,
    "prev_city": 100,
    "prev_state": 100,
    "about": 600,
}
LOOK_LIMIT, IDEA_LIMIT, INTEREST_LIMIT = 300, 300, 60
INTERESTS = (3, 6)  # fewest and most
PEOPLE_MARK = "The people, as JSON:"

_TEXT = {"type": "string"}
_BIOS = {f"bio_{platform}": _TEXT for platform in PLATFORMS}


def _object(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _exactly(count: int, items: dict) -> dict:
    return {"type": "array", "minItems": count, "maxItems": count, "items": items}


def persona_item(request: PersonaRequest) -> dict:
    """One persona of the answer: for new bios, the names and bios only; otherwise the whole person around its
    skeleton."""
    names = {"firstname": _TEXT, "lastname": _TEXT, "gender": {"type": "string", "enum": ["f", "m"]}}
    if request.person:
        return _object({**names, **_BIOS})
    refs = [someone.ref for someone in request.people]
    whole = {"ref": {"type": "string", "enum": refs}} if refs else {}
    whole.update(names)
    whole["age"] = {"type": "integer"}
    whole.update({name: _TEXT for name in PROFILE_LIMITS})
    whole["look"] = _TEXT
    whole["interests"] = {"type": "array", "minItems": INTERESTS[0], "maxItems": INTERESTS[1], "items": _TEXT}
    whole["photo_ideas"] = _exactly(request.photo_ideas, _TEXT)
    whole.update(_BIOS)
    return _object(whole)


def persona_schema(request: PersonaRequest) -> dict:
    """The JSON schema of an answer of exactly `request.count` personas (structured outputs hold the model to it)."""
    return _object({"personas": _exactly(request.count, persona_item(request))})


def ideas_schema(count: int) -> dict:
    return _object({"ideas": _exactly(count, _TEXT)})


PERSONA_SYSTEM = (
    "You write realistic, plainly fictional people for synthetic social-media test data. Each person you are "
    "given already has a gender, an age and usually a name: keep them exactly. Around them you build one coherent "
    "life that fits the description: heritage, work, schooling, the town they live in now and the one before, a "
    "short 'about' in their own voice, how they look, what they like, and ideas for photos of their own life. Their "
    "bios, one per platform and written by them, agree with all of it. People in one answer differ from each other "
    "in work, town, tastes and voice. Never use the names of real public figures. Answer only with JSON that "
    "follows the given schema."
)


def _bio_rules(request: PersonaRequest) -> str:
    return "\n".join(
        f"- bio_{platform} (never more than {BIO_LIMITS[platform]} characters, spaces and emojis included): "
        f"{prompt.strip()}"
        for platform, prompt in request.bio_prompts.items()
    )


def persona_messages(request: PersonaRequest) -> list[dict[str, str]]:
    if request.person:
        return _bios_messages(request)
    people = [
        {"ref": p.ref, "gender": p.gender, "age": p.age, "firstname": p.firstname, "lastname": p.lastname}
        for p in request.people
    ]
    naming = ""
    if any(not p["firstname"] for p in people):
        naming = (
            "Where a first or last name is empty, choose one that people of that age, gender and place really have. "
        )
        if request.avoid_names:
            naming += "These names are taken already; do not use them: " + ", ".join(request.avoid_names) + ". "
    where = f"Where they live: {request.country}. " if request.country else ""
    user = (
        f"Who they are: {request.description.strip()}\n"
        f"{where}Every town, job and school is one that exists there or fits the description; when the description "
        f"names places, they live and work in those places.\n"
        f"Write every text in {request.language}.\n"
        f"{PEOPLE_MARK} {json.dumps(people, ensure_ascii=False)}\n"
        f"Keep each person's ref, gender and age, and any name given. {naming}\n"
        f"Profile fields: ethnicity; job_title and workplace (a plausible employer or 'self-employed'; a student's "
        f"or retiree's too); edu_establishment and edu_study; current_city and current_state (state or region); "
        f"prev_city and prev_state (where they lived before); about (two or three sentences, first person, at most "
        f"{PROFILE_LIMITS['about']} characters). Keep the other fields short.\n"
        f"look: one line on hair, build and usual style that fits their age and ethnicity (not the face).\n"
        f"interests: {INTERESTS[0]} to {INTERESTS[1]} short items.\n"
        f"photo_ideas: exactly {request.photo_ideas} ideas, each a different scene from this person's own life "
        f"(place, activity, outfit, time of day), drawn from their job, town and interests; one line each, no two "
        f"alike.\n"
        f"How to write each bio:\n{_bio_rules(request)}\n"
        f"Give exactly {request.count} people, one for each given above."
    )
    return [{"role": "system", "content": PERSONA_SYSTEM}, {"role": "user", "content": user}]


def _bios_messages(request: PersonaRequest) -> list[dict[str, str]]:
    user = (
        f"Write new bios for one person who exists already. Keep their name and gender.\n{request.person}\n"
        f"The bios agree with everything above. Write them in {request.language}.\n"
        f"How to write each bio:\n{_bio_rules(request)}\n"
        "Give exactly 1 person."
    )
    return [{"role": "system", "content": PERSONA_SYSTEM}, {"role": "user", "content": user}]


IDEAS_SYSTEM = (
    "You plan realistic social-media photos of a fictional person. Answer only with JSON that follows the schema."
)


def ideas_messages(request: IdeasRequest) -> list[dict[str, str]]:
    avoid = ""
    if request.avoid:
        avoid = "Their earlier photos showed these; choose other scenes:\n" + "\n".join(f"- {a}" for a in request.avoid)
    user = (
        f"{request.person}\nGive exactly {request.count} ideas for photos of this person's own life, each a "
        "different scene (place, activity, outfit, time of day), drawn from their job, town and interests, one line "
        f"each, no two alike.\n{avoid}"
    )
    system = (
        "You plan realistic social-media photos of a fictional person. Answer only with JSON that follows the schema."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _who(sitter: Sitter) -> str:
    """ "Ana, a 29-year-old Portuguese woman, wavy dark hair…, a nurse in Porto" """
    age = f"{sitter.age}-year-old " if sitter.age else ""
    heritage = f"{sitter.ethnicity} " if sitter.ethnicity else ""
    who = f"{sitter.firstname}, a {age}{heritage}{sitter.person}"
    if sitter.look:
        who += f" ({sitter.look.rstrip('.')})"
    life = " in ".join(part for part in (sitter.job, sitter.town) if part)
    if life:
        who += f", {life}"
    elif sitter.description:
        who += f" who fits this description: {sitter.description.strip()}"
    return who


def base_selfie_prompt(sitter: Sitter, *, with_reference: bool) -> str:
    who = _who(sitter)
    if with_reference:
        start = f"Use the face in the reference photo as the face of {who}. Keep that face recognisable, at this age. "
    else:
        start = f"A photo of {who}. "
    return (
        start + "A casual smartphone selfie at arm's length, head and shoulders, looking at the camera, "
        "natural daylight, an everyday background from their own life and town, true-to-life skin texture, "
        "no filters, no text, no watermark, a single person only."
    )


# When a persona's photos come from several grids and have no ideas of their own, each grid is steered elsewhere.
PART_SCENES = {
    1: "This set is mostly daytime and outdoors.",
    2: "This set is mostly evening, indoors and with friends or at work; avoid the scenes of a daytime set.",
    3: "This set is about their work or studies, and the places they go for it; avoid leisure scenes.",
    4: "This set is about weekends and holidays: travel, family, sport or a hobby, away from home.",
    5: "This set is quiet moments at home and in their neighbourhood, across the seasons.",
}


def tile_places(cols: int, rows: int) -> list[str]:
    """Where each tile of a grid sits, in reading order ("top left", …, "bottom right")."""
    across = {1: [""], 2: ["left", "right"], 3: ["left", "middle", "right"]}.get(cols) or [
        f"column {n}" for n in range(1, cols + 1)
    ]
    down = [""] if rows == 1 else ["top", *(f"row {n}" for n in range(2, rows)), "bottom"]
    return [" ".join(part for part in (row, col) if part) or "the photo" for row in down for col in across]


def grid_prompt(sitter: Sitter, *, cols: int, rows: int, ideas: list[str], part: int = 1, parts: int = 1) -> str:
    count = cols * rows
    if len(ideas) == count:
        scenes = (
            " The photos, in order: "
            + "; ".join(
                f"{place}: {idea.rstrip('.')}" for place, idea in zip(tile_places(cols, rows), ideas, strict=True)
            )
            + "."
        )
    else:
        scenes = f" {PART_SCENES.get(part, '')}" if parts > 1 else ""
        scenes = f" Scenes from their own life.{scenes}"
    return (
        f"Make one image that is a photo grid of {cols} columns and {rows} rows, {count} separate photos of the "
        f"same person from the reference photo: {_who(sitter)}. The face, age, skin, hair and build stay exactly "
        "those of the reference in every photo. Camera angles and distances vary (close-up, half body, full body). "
        "Every photo looks like an ordinary phone picture posted on social media. Separate the photos with thin "
        f"plain white lines, no borders with text, no captions, no collage effects, one person per photo.{scenes}"
    )


def replacement_prompt(sitter: Sitter, idea: str = "") -> str:
    """One photo to stand in for a tile the face check rejected: the person of the first image, in the scene of
    the second (and of its idea, when it has one)."""
    scene = f" The scene: {idea.rstrip('.')}." if idea else ""
    return (
        f"Make one single photo, not a grid, of {sitter.firstname}, the {sitter.person} in the first image, in the "
        "scene of the second image: the same place, light, outfit, framing and activity." + scene + " The face, "
        "age, skin, hair and build are exactly those of the first image. Only this one person is in the photo, and "
        "the whole face is inside the frame. An ordinary phone picture, no text, no borders."
    )
