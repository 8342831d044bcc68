"""A persona's face state, one of three: verified (its base and every one of its photos checked and found to be one
person), flagged (a check rejected one of them) or not checked (anything else: no frontal face found, the checks off,
or images not checked yet). A "no face" verdict is the model saying it could not look, so it never counts as a pass.
The rule is written here for rows in hand (cards, exports) and in SQL, row by row (filters) and as counts (the
summary); tests hold them together."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan

from generation.faces.checks import worst
from generation.models import FaceCheck, GenerationResult

Verdict = FaceCheck.Verdict
NOT_CHECKED = "not checked"  # the verdict of an image slot that has no check


class FaceState:
    VERIFIED = "verified"
    NOT_CHECKED = NOT_CHECKED
    FLAGGED = "flagged"

    LABELS = {VERIFIED: "Verified", NOT_CHECKED: "Not checked", FLAGGED: "Needs a look"}
    TONES = {VERIFIED: "ok", NOT_CHECKED: "none", FLAGGED: "bad"}
    choices = list(LABELS.items())


def slot_state(verdict: str) -> str:
    """What one image slot's verdict says of the persona: verified (ok), flagged (a rejection) or not checked
    (no frontal face, no check, or a verdict this code does not know, such as a legacy one)."""
    if verdict == Verdict.OK:
        return FaceState.VERIFIED
    if verdict in FaceCheck.REJECTED:
        return FaceState.FLAGGED
    return FaceState.NOT_CHECKED


def verdicts_reading_as(state: str) -> list[str]:
    """The known verdicts that slot_state() reads as `state`, for a filter on the checks."""
    return [verdict for verdict in Verdict.values if slot_state(verdict) == state]


def slot_verdicts(verdicts: Mapping[int, str], images: int) -> list[str]:
    """The verdict of each image slot, base (0) first; a slot with no check is NOT_CHECKED."""
    return [verdicts.get(position, NOT_CHECKED) for position in range(images + 1)]


def persona_state(verdicts: Mapping[int, str], images: int) -> str:
    """`verdicts` by position (0 the base) of a persona with `images` photos."""
    states = [slot_state(verdict) for verdict in slot_verdicts(verdicts, images)]
    if FaceState.FLAGGED in states:
        return FaceState.FLAGGED
    if images and all(state == FaceState.VERIFIED for state in states):
        return FaceState.VERIFIED
    return FaceState.NOT_CHECKED


def persona_verdict(verdicts: Mapping[int, str], images: int) -> str:
    """The worst verdict of the persona's slots: "ok" only when every one was checked ok."""
    slots = slot_verdicts(verdicts, images)
    rejected = worst([verdict for verdict in slots if verdict in FaceCheck.REJECTED])
    if rejected:
        return rejected
    if Verdict.NO_FACE in slots:
        return Verdict.NO_FACE
    return NOT_CHECKED if NOT_CHECKED in slots else Verdict.OK


class JSONArrayLength(Func):
    """The number of items of a JSON array column; NULL for SQL NULL (and 0 or NULL for a value that is no array,
    which old rows may hold)."""

    function = "json_array_length"
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CASE WHEN jsonb_typeof({sql}) = 'array' THEN jsonb_array_length({sql}) END)", (*params, *params)


def with_photos(results: QuerySet[GenerationResult]) -> QuerySet[GenerationResult]:
    """The personas whose face state is counted and filtered on: those with photos. One still waiting for them
    has no badge on its card and is in no count of the summary."""
    return results.filter(images__isnull=False)


def face_state_sql() -> Case:
    """persona_state() of each result row, in SQL: three correlated lookups on the checks' (result, position)
    index."""
    images = Coalesce(JSONArrayLength(OuterRef("images")), 0)  # a persona with no photos yet has its base
    slots = FaceCheck.objects.filter(result=OuterRef("pk"), position__lte=images).order_by()
    passed = slots.filter(verdict=Verdict.OK).values("result").annotate(n=Count("id")).values("n")
    return Case(
        When(Exists(slots.filter(verdict__in=FaceCheck.REJECTED)), then=Value(FaceState.FLAGGED)),
        When(
            GreaterThan(JSONArrayLength("images"), 0)
            & Exact(Subquery(passed, output_field=IntegerField()), JSONArrayLength("images") + 1),
            then=Value(FaceState.VERIFIED),
        ),
        default=Value(FaceState.NOT_CHECKED),
    )


def face_state_counts(results: QuerySet[GenerationResult]) -> dict[str, int]:
    """How many of `results` are in each face state, by face_state_sql()'s rule, counted in one join and group over
    their checks rather than row by row (the task page polls it); with how many were looked at (any
    check) and how many tiles were replaced."""
    images = JSONArrayLength("images")
    slot = Q(face_checks__position__lte=images)
    per_persona = results.annotate(
        photos=images,
        looked_at=Count("face_checks", filter=slot),
        passed=Count("face_checks", filter=slot & Q(face_checks__verdict=Verdict.OK)),
        rejected=Count("face_checks", filter=slot & Q(face_checks__verdict__in=FaceCheck.REJECTED)),
        replaced=Count("face_checks", filter=Q(face_checks__position__gt=0, face_checks__replaced__gt=0)),
    )
    totals = per_persona.aggregate(
        personas=Count("id"),
        checked=Count("id", filter=Q(looked_at__gt=0)),
        verified=Count("id", filter=Q(rejected=0, photos__gt=0, passed=F("photos") + 1)),
        flagged=Count("id", filter=Q(rejected__gt=0)),
        tiles_replaced=Sum("replaced"),
    )
    return {
        "personas": totals["personas"],
        "checked": totals["checked"],
        "verified": totals["verified"],
        "flagged": totals["flagged"],
        "not_checked": totals["personas"] - totals["verified"] - totals["flagged"],
        "replaced": totals["tiles_replaced"] or 0,
    }
