"""How adoption stops: refused before changing anything, or failed and rolled back; and the
database's own words for a failure."""

from __future__ import annotations


class AdoptionRefused(Exception):
    """The database cannot be adopted as it is; `problems` says why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class AdoptionFailed(Exception):
    """Something went wrong while applying the plan; the transaction was rolled back."""


def explain(error: Exception) -> str:
    """The database's own message, with its detail (which row, which key) when it gave one."""
    text = str(error).strip()
    detail = getattr(getattr(error.__cause__, "diag", None), "message_detail", None)
    if detail and detail not in text:
        text += f" ({detail})"
    if "lock timeout" in text:
        text += " Is the Flask app still running? Stop it first."
    return text
