"""Countries people can live in, by ISO 3166-1 alpha-2 code, from pycountry's copy of the ISO tables (kept current
by its maintainers rather than by us)."""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def choices() -> list[tuple[str, str]]:
    """(code, name) of every country, by name, for a select."""
    return sorted(((c.alpha_2, name_of(c.alpha_2)) for c in pycountry.countries), key=lambda pair: pair[1])


def name_of(code: str) -> str:
    """The country's common English name ("PT" -> "Portugal"), or "" for a code that names none."""
    found = pycountry.countries.get(alpha_2=code.strip().upper()) if len(code.strip()) == 2 else None
    if found is None:
        return ""
    return getattr(found, "common_name", None) or found.name
