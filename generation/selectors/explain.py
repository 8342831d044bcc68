"""Plain-language causes for what the pipeline writes down when something fails.

Unit notes and error logs are written for whoever debugs the pipeline ("TransientBackendError: …", "OperationalError:
database is locked"). Operators need to know what happened and what to do next; the technical text stays available
under it. The first rule whose words appear in the text wins, so the more specific rules come first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    cause: str
    next_step: str


RETRY = "Retry: finished work is kept and only what is missing runs again."

# Causes that only say that nothing came out. When the task's failed steps have a cause of their own (a database
# that stayed locked, an API that was down), that one is the true cause, and these are not shown for it.
NO_PERSONA = Explanation("No persona came back from the text model.", "Retry, or reword the description.")
NO_PHOTOS = Explanation("No persona got its photos.", RETRY)
OUTCOMES_ONLY = frozenset({NO_PERSONA, NO_PHOTOS})

RULES: tuple[tuple[tuple[str, ...], Explanation], ...] = (
    (
        ("cancelled by",),
        Explanation("Someone cancelled the task.", "Resume it to make the rest, or leave it as it is."),
    ),
    (
        ("cannot be signed",),
        Explanation(
            "Images could not be signed: the signing certificate or key is missing, expired or wrong.",
            "Fix C2PA_SIGNING_CERT and C2PA_SIGNING_KEY (`manage.py check` says what is wrong), then Retry.",
        ),
    ),
    (
        ("budget",),
        Explanation("The task reached its spending cap.", "Raise the cap if the rest is worth it, then Retry."),
    ),
    (
        ("insufficient_quota", "billing", "quota"),
        Explanation(
            "The OpenAI account has run out of credit.",
            "Add credit or raise the spending limit in the OpenAI account, then Retry.",
        ),
    ),
    (
        ("invalid_api_key", "incorrect api key", "401", "authentication"),
        Explanation(
            "The OpenAI key was refused.", "Check the OPENAI_API_KEY setting, restart the workers, then Retry."
        ),
    ),
    (
        ("model_not_found", "404", "does not exist"),
        Explanation(
            "The model named in the settings is not available to this key.",
            "Check OPENAI_IMAGE_MODEL and OPENAI_TEXT_MODEL, then Retry.",
        ),
    ),
    (
        ("403", "permission"),
        Explanation(
            "The OpenAI key may not use this model (the organisation may need verifying).",
            "Check the key's permissions in the OpenAI account, then Retry.",
        ),
    ),
    (
        ("in a row with the same error",),
        Explanation(
            "The image service rejected the same request again and again.",
            "This is most likely a setting or the description itself: read the detail, change it, then Retry.",
        ),
    ),
    (
        ("refused", "safety", "content policy", "moderation"),
        Explanation(
            "The model declined to make this (its content rules).",
            "Reword the description, or regenerate the personas concerned.",
        ),
    ),
    (
        ("database is locked",),
        Explanation(
            "The database was busy: another process held SQLite's write lock for longer than its busy timeout.",
            "Retry. If it keeps happening, raise SQLITE_BUSY_TIMEOUT, or use PostgreSQL (DATABASE_URL).",
        ),
    ),
    (
        ("operationalerror", "interfaceerror", "could not connect", "connection refused", "server closed"),
        Explanation("The database could not be reached for a while.", "Check that the database is up, then Retry."),
    ),
    (
        ("lease ran out", "worker stopped mid-run"),
        Explanation(
            "A worker stopped in the middle of the work (it was killed or restarted).",
            "Retry, and check that a worker is running (manage.py qcluster).",
        ),
    ),
    (
        ("not run: the task was stopped", "not run again: the task was stopped"),
        Explanation("Not made, because the task was stopped first.", "Resume the task to make it."),
    ),
    (
        ("malformed", "not valid json", "malformedanswer"),
        Explanation(
            "The model's answer could not be used: it was not in the shape asked for.",
            RETRY + " If it keeps happening, try another text model.",
        ),
    ),
    (
        ("badimage", "not an image", "cannot identify image", "truncated"),
        Explanation("The image service sent a file that is not a usable picture.", RETRY),
    ),
    (("no usable persona",), NO_PERSONA),
    (("no persona got its images",), NO_PHOTOS),
    (
        ("transient", "rate limit", "429", "timeout", "timed out", "connection", "500", "502", "503", "overloaded"),
        Explanation("The OpenAI service was busy or unreachable, and the tries ran out.", RETRY),
    ),
)

UNKNOWN = Explanation(
    "Something went wrong that the app has no plain explanation for.",
    "Retry. If it happens again, the technical detail below helps whoever looks into it.",
)


def explain(text: str) -> Explanation:
    lowered = text.lower()
    for words, explanation in RULES:
        if any(word in lowered for word in words):
            return explanation
    return UNKNOWN
