"""Characters that change how text reads without being seen, removed at every door text comes in by: the model's
names and bios (pipeline/persona_data.py) and the operator's persona description (the form and submit_task)."""

from __future__ import annotations

import re

# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): "\u202eabc" shows as "cba".
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    return BIDI_CONTROLS.sub("", text)
