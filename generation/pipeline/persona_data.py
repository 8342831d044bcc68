"""What the text model sends about one persona, checked at the door before anything is stored. A bad persona is
refused with its reason and the batch keeps the good ones; nothing of the model's is turned into text it did not
send (`str()` of a list or a number), and nothing invisible or control-like reaches the database, a page or a CSV.

- Every field must be a JSON string; another type refuses the persona.
- Names: control characters refuse the persona; bidirectional embedding, override and isolate characters
  (U+202A–U+202E, U+2066–U+2069) are removed; a name must then hold at least one letter, so names made only of
  zero-width or other invisible characters are refused.
- Bios: control characters are removed (a line break is kept), and so are the bidirectional overrides; each is cut
  to its platform's limit (BIO_LIMITS) at a word boundary, and the cut is counted.
- The profile, the look, the interests and the photo ideas (for a new persona): each must be text and is cleaned and
  cut like a bio (prompts.PROFILE_LIMITS); an empty one refuses the persona, and so do photo ideas that repeat."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from generation.integrations.prompts import IDEA_LIMIT, INTEREST_LIMIT, INTERESTS, LOOK_LIMIT, PROFILE_LIMITS
from generation.models import GenerationResult
from generation.pipeline.text import without_bidi_controls
from siteconfig.defaults import BIO_LIMITS, PLATFORMS

NAME_MAX = GenerationResult._meta.get_field("firstname").max_length
GENDER_WORDS = {"f": "f", "female": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}
ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}  # a text of only these is empty


@dataclass(frozen=True)
class Persona:
    firstname: str
    lastname: str
    gender: str
    bios: dict[str, str]
    trimmed: int = 0  # bios cut to their platform's limit
    texts_cut: int = 0  # profile texts, look, interests and ideas cut to theirs
    ref: str = ""  # the skeleton the model wrote it for
    age: object = None  # as the model sent it; the skeleton's stands
    profile: dict[str, str] = field(default_factory=dict)  # by column of generation_results
    look: str = ""
    interests: tuple[str, ...] = ()
    photo_ideas: tuple[str, ...] = ()

    @property
    def name_key(self) -> str:
        return f"{self.firstname} {self.lastname}".casefold()


class Refused(ValueError):
    """Why one persona cannot be used."""


def has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def text_field(raw: dict, field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str):
        raise Refused(f"{field} was {type(value).__name__ if value is not None else 'missing'}, not text")
    return value


def clean_name(raw: dict, field: str) -> str:
    name = text_field(raw, field)
    if has_control(name):
        raise Refused(f"{field} held a control character")
    name = ZERO_WIDTH.sub("", without_bidi_controls(name)).strip()
    if not any(unicodedata.category(c).startswith("L") for c in name):
        raise Refused(f"{field} had no visible letter")
    if len(name) > NAME_MAX:
        raise Refused(f"{field} was longer than {NAME_MAX} characters")
    return name


def clean_text(value: object, field: str, limit: int, *, lines: bool = True) -> tuple[str, bool]:
    """The text, cleaned (without control characters, a line break kept when `lines`) and cut to `limit`, and
    whether it had to be cut."""
    if not isinstance(value, str):
        raise Refused(f"{field} was {type(value).__name__ if value is not None else 'missing'}, not text")
    text = without_bidi_controls(value.replace("\r\n", "\n"))
    text = "".join(c for c in text if (lines and c == "\n") or unicodedata.category(c) != "Cc")
    text = ZERO_WIDTH.sub("", text).strip() if not lines else text.strip()
    if not lines:
        text = " ".join(text.split())
    if not any(unicodedata.category(c) not in INVISIBLE for c in text):
        raise Refused(f"{field} was empty")
    if len(text) <= limit:
        return text, False
    return trim_at_word(text, limit), True


def clean_bio(raw: dict, platform: str) -> tuple[str, bool]:
    """The bio, cleaned and cut to its limit, and whether it had to be cut."""
    return clean_text(raw.get(f"bio_{platform}"), f"bio_{platform}", BIO_LIMITS[platform])


def clean_list(value: object, field: str, limit: int) -> tuple[list[str], int]:
    if not isinstance(value, list):
        raise Refused(f"{field} was {type(value).__name__ if value is not None else 'missing'}, not a list")
    cleaned = [clean_text(item, field, limit, lines=False) for item in value]
    return [text for text, _ in cleaned], sum(cut for _, cut in cleaned)


def with_life(persona: Persona, raw: dict, photo_ideas: int) -> Persona:
    """The persona with the profile, look, interests and `photo_ideas` distinct photo ideas the model wrote."""
    profile, trimmed = {}, 0
    for name, limit in PROFILE_LIMITS.items():
        profile[name], cut = clean_text(raw.get(name), name, limit, lines=name == "about")
        trimmed += cut
    look, cut = clean_text(raw.get("look"), "look", LOOK_LIMIT, lines=False)
    interests, cuts = clean_list(raw.get("interests"), "interests", INTEREST_LIMIT)
    interests = list(dict.fromkeys(interests))[: INTERESTS[1]]
    ideas, idea_cuts = clean_list(raw.get("photo_ideas"), "photo_ideas", IDEA_LIMIT)
    if len(ideas) != photo_ideas:
        raise Refused(f"photo_ideas held {len(ideas)} ideas, not {photo_ideas}")
    if len({" ".join(idea.casefold().split()) for idea in ideas}) < len(ideas):
        raise Refused("two photo ideas were the same")
    if not interests:
        raise Refused("interests was empty")
    ref = raw.get("ref") if isinstance(raw.get("ref"), str) else ""
    return replace(persona, texts_cut=trimmed + cut + cuts + idea_cuts, ref=ref, age=raw.get("age"), profile=profile,
                   look=look, interests=tuple(interests), photo_ideas=tuple(ideas))  # fmt: skip


def trim_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a word boundary when there is one in the second half, with an
    ellipsis; scripts written without spaces are cut at the limit."""
    room = limit - 1
    cut = text[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-–—|·") + "…"


def validate_persona(raw: object, *, photo_ideas: int | None = None) -> Persona | str:
    """A clean Persona, or the reason this one cannot be used. With `photo_ideas` (a new persona), its profile, look,
    interests and that many photo ideas are required too; without (new bios), only names, gender and bios."""
    if not isinstance(raw, dict):
        return "an entry was not an object"
    try:
        first, last = clean_name(raw, "firstname"), clean_name(raw, "lastname")
        gender = GENDER_WORDS.get(text_field(raw, "gender").strip().lower())
        if not gender:
            return f"unknown gender {raw.get('gender')[:20]!r}"
        bios, trimmed = {}, 0
        for platform in PLATFORMS:
            bios[platform], cut = clean_bio(raw, platform)
            trimmed += cut
        persona = Persona(first, last, gender, bios, trimmed)
        if photo_ideas is not None:
            persona = with_life(persona, raw, photo_ideas)
    except Refused as problem:
        return f"a persona was refused: {problem}"
    return persona


def validate_ideas(raw: object, count: int) -> list[str] | str:
    """`count` distinct photo ideas, cleaned and cut, or the reason they cannot be used."""
    try:
        ideas, _ = clean_list(raw, "ideas", IDEA_LIMIT)
    except Refused as problem:
        return str(problem)
    if len(ideas) != count:
        return f"{len(ideas)} ideas, not {count}"
    if len({" ".join(idea.casefold().split()) for idea in ideas}) < count:
        return "two ideas were the same"
    return ideas
