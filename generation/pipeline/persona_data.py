"""What the text model sends about one persona, checked at the door before anything is stored. A bad persona is
refused with its reason and the batch keeps the good ones; nothing of the model's is turned into text it did not
send (`str()` of a list or a number), and nothing invisible or control-like reaches the database, a page or a CSV.

- Every field must be a JSON string; another type refuses the persona.
- Names: control characters refuse the persona; bidirectional embedding, override and isolate characters
  (U+202A–U+202E, U+2066–U+2069) are removed; a name must then hold at least one letter, so names made only of
  zero-width or other invisible characters are refused.
- Bios: control characters are removed (a line break is kept), and so are the bidirectional overrides; each is cut
  to its platform's limit (BIO_LIMITS) at a word boundary, and the cut is counted."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from generation.models import GenerationResult
from generation.pipeline.text import without_bidi_controls
from siteconfig.defaults import BIO_LIMITS, PLATFORMS

NAME_MAX = GenerationResult._meta.get_field("firstname").max_length
GENDER_WORDS = {"f": "f", "female": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}
ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")


@dataclass(frozen=True)
class Persona:
    firstname: str
    lastname: str
    gender: str
    bios: dict[str, str]
    trimmed: int = 0  # bios cut to their platform's limit

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


def clean_bio(raw: dict, platform: str) -> tuple[str, bool]:
    """The bio, cleaned and cut to its limit, and whether it had to be cut."""
    bio = text_field(raw, f"bio_{platform}").replace("\r\n", "\n")
    bio = "".join(c for c in without_bidi_controls(bio) if c == "\n" or unicodedata.category(c) != "Cc").strip()
    if not bio:
        raise Refused(f"bio_{platform} was empty")
    limit = BIO_LIMITS[platform]
    if len(bio) <= limit:
        return bio, False
    return trim_at_word(bio, limit), True


def trim_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a word boundary when there is one in the second half, with an
    ellipsis; scripts written without spaces are cut at the limit."""
    room = limit - 1
    cut = text[:room]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-–—|·") + "…"


def validate_persona(raw: object) -> Persona | str:
    """A clean Persona, or the reason this one cannot be used."""
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
    except Refused as problem:
        return f"a persona was refused: {problem}"
    return Persona(first, last, gender, bios, trimmed)
