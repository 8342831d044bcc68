"""The review gallery: a page of a task's personas, filtered, with each image's face verdict and each persona's
running action. Three queries a page whatever its size: the page, its checks, its open actions."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from generation.integrations import storage
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from generation.selectors.faces import FaceState, face_state_sql, persona_state, with_photos

PERSONAS_PER_PAGE = 24
Verdict = FaceCheck.Verdict
Kind = PipelineUnit.Kind

GENDERS = {"f": "Women", "m": "Men"}
# The gallery's face filters (their query values kept from before "verified" had its own word), by face state.
VERDICT_FILTERS = {"look": FaceState.FLAGGED, "ok": FaceState.VERIFIED, "unchecked": FaceState.NOT_CHECKED}
VIEWS = {"cards": "Cards", "faces": "Faces"}
BUSY_LABELS = {
    Kind.PERSONA_IMAGES: "Making photos…",
    Kind.ALL_PHOTOS_AGAIN: "New photos on their way…",
    Kind.ONE_PHOTO_AGAIN: "A new photo on its way…",
    Kind.BIOS: "New bios on their way…",
}
VERDICT_BADGES = {
    Verdict.OK: ("ok", "Same person"),
    Verdict.DIFFERENT_PERSON: ("bad", "Different person"),
    Verdict.SEVERAL_FACES: ("bad", "Several faces"),
    Verdict.FACE_CUT: ("bad", "Face cut"),
    Verdict.NO_FACE: ("none", "No frontal face"),
}


@dataclass(frozen=True)
class GalleryFilters:
    gender: str = ""
    verdict: str = ""
    view: str = "cards"

    @classmethod
    def from_query(cls, query) -> GalleryFilters:
        """Unknown values are ignored, not an error: a hand-edited link still shows the gallery."""
        gender = query.get("gender", "")
        verdict = query.get("verdict", "")
        view = query.get("view", "cards")
        return cls(
            gender=gender if gender in GENDERS else "",
            verdict=verdict if verdict in VERDICT_FILTERS else "",
            view=view if view in VIEWS else "cards",
        )

    def query(self, **changes) -> str:
        """The query string of these filters with some changed (page numbers are added by the template)."""
        values = {"gender": self.gender, "verdict": self.verdict, "view": self.view} | changes
        if values["view"] == "cards":
            values.pop("view")
        return "&".join(f"{key}={value}" for key, value in values.items() if value)


@dataclass(frozen=True)
class Image:
    url: str
    position: int  # 0 for the base selfie
    srcset: str
    verdict: str  # "" when not checked
    tone: str  # ok, bad, none
    label: str
    distance: float | None

    @property
    def needs_a_look(self) -> bool:
        return self.tone == "bad"

    @property
    def hover(self) -> str:
        if not self.verdict:
            return "Face not checked"
        if self.distance is None:
            return self.label
        return f"{self.label}: {self.distance:.2f} from the base face (same person below 0.60)"


@dataclass
class PersonaCard:
    result: GenerationResult
    base: Image | None
    photos: list[Image] = field(default_factory=list)
    busy: str = ""

    @property
    def persona_state(self) -> str:
        verdicts = {image.position: image.verdict for image in [self.base, *self.photos] if image and image.verdict}
        return persona_state(verdicts, len(self.photos))

    @property
    def needs_a_look(self) -> bool:
        return self.persona_state == FaceState.FLAGGED

    @property
    def verdict_badge(self) -> tuple[str, str] | None:
        """(tone, label) of the card's face badge; None while a persona still waits for its photos and nothing
        was flagged."""
        state = self.persona_state
        if not self.photos and state != FaceState.FLAGGED:
            return None
        return FaceState.TONES[state], FaceState.LABELS[state]


def srcset(url: str) -> str:
    return ", ".join(f"{thumbnail} {width}w" for width, thumbnail in storage.thumbnail_urls(url).items())


def gallery_results(task: GenerationTask, filters: GalleryFilters) -> QuerySet[GenerationResult]:
    results = task.results.select_related("details").order_by("id")
    if filters.gender:
        results = results.filter(gender=filters.gender)
    if filters.verdict:
        state = VERDICT_FILTERS[filters.verdict]
        if state == FaceState.NOT_CHECKED:  # as the summary counts them: not one still waiting for its photos
            results = with_photos(results)
        results = results.alias(face_state=face_state_sql()).filter(face_state=state)
    return results


def gallery_page(
    task: GenerationTask, filters: GalleryFilters, number, total: int | None = None
) -> tuple[Page, list[PersonaCard]]:
    """`total`: how many personas the task has, when the caller has counted them already (the task page's state),
    which the unfiltered gallery takes instead of counting them again."""
    paginator = Paginator(gallery_results(task, filters), PERSONAS_PER_PAGE)
    if total is not None and not (filters.gender or filters.verdict):
        paginator.count = total
    page = paginator.get_page(number)
    results = list(page.object_list)
    pks = [result.pk for result in results]
    checks = {
        (row["result_id"], row["position"]): row
        for row in FaceCheck.objects.filter(result_id__in=pks).values("result_id", "position", "verdict", "distance")
    }
    busy = {}
    open_units = PipelineUnit.objects.filter(
        result_id__in=pks, kind__in=list(BUSY_LABELS), state__in=PipelineUnit.OPEN_STATES
    ).values_list("result_id", "kind")
    for result_id, kind in open_units:
        busy.setdefault(result_id, BUSY_LABELS[kind])

    def image(result: GenerationResult, url: str, position: int) -> Image:
        check = checks.get((result.pk, position))
        verdict = check["verdict"] if check else ""
        tone, label = VERDICT_BADGES.get(verdict, ("none", "Not checked"))
        return Image(url, position, srcset(url), verdict, tone, label, check["distance"] if check else None)

    cards = [
        PersonaCard(
            result=result,
            base=image(result, result.base_image_url, 0) if result.base_image_url else None,
            photos=[image(result, url, n) for n, url in enumerate(result.images or [], 1)],
            busy=busy.get(result.pk, ""),
        )
        for result in results
    ]
    return page, cards


def page_numbers(page: Page) -> list[int | str]:
    """1 … 4 5 [6] 7 8 … 20: the pages to link, with "…" for the gaps."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
