"""Persona names that never repeat in a server's lifetime: plain pairs first, then double-barrelled surnames."""

from __future__ import annotations

FIRST_NAMES = {
    "f": ["Lena", "Amara", "Sofia", "Ingrid", "Priya", "Mei", "Chiara", "Noor", "Elif", "Zofia", "Ana", "Yara"],
    "m": ["Tomas", "Kwame", "Luca", "Henrik", "Ravi", "Kenji", "Mateo", "Omar", "Emre", "Piotr", "Jonas", "Diego"],
}
LAST_NAMES = [
    "Okafor", "Lindqvist", "Moreau", "Kowalski", "Tanaka", "Haddad", "Varga", "Brennan", "Castillo", "Novak",
    "Achterberg", "Yilmaz", "Petrov", "Salazar", "Mensah", "Fischer", "Nakamura", "Rossi", "Dubois", "Karlsson",
]  # fmt: skip
# Syllables for made-up surname parts once the plain (first, last) pairs run out; keeps names name-like.
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tu", "vi", "no", "dal", "ber", "ko", "ri", "an", "sel", "mar", "te"]


def _syllable_word(number: int) -> str:
    """A pronounceable, capitalised word that is unique per ``number`` >= 1 (bijective base-N on syllables)."""
    parts = []
    while number > 0:
        number -= 1
        number, digit = divmod(number, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(reversed(parts)).capitalize()


def unique_name(gender: str, number: int) -> tuple[str, str]:
    """The ``number``-th distinct name for ``gender``: plain pairs first, then double-barrelled surnames."""
    firsts = FIRST_NAMES[gender]
    first = firsts[number % len(firsts)]
    pair_index, cycle = divmod(number // len(firsts), len(LAST_NAMES))
    last = LAST_NAMES[pair_index]
    if cycle:
        last = f"{last}-{_syllable_word(cycle)}"
    return first, last
