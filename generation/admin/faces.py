"""The admin of face checks: what the face model saw in each stored image, filtered by outcome, with the action
that makes a rejected photo again."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from generation import services
from generation.admin.base import MachineMadeAdmin, act_on_each
from generation.faces.index import RECENT, faces_seen_before, newest_personas
from generation.models import FaceCheck, GenerationResult
from generation.selectors.faces import FaceState, slot_state, verdicts_reading_as


class CheckOutcomeFilter(admin.SimpleListFilter):
    """Checks by what they say of the persona, by slot_state(): passed (ok), could not check (no face, or a verdict
    this code does not know) or flagged (a rejection)."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return FaceState.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[FaceCheck]) -> QuerySet[FaceCheck]:
        state = self.value()
        if state == FaceState.NOT_CHECKED:  # what reads as neither of the others, unknown verdicts included
            checked = verdicts_reading_as(FaceState.VERIFIED) + verdicts_reading_as(FaceState.FLAGGED)
            return queryset.exclude(verdict__in=checked)
        if state in FaceState.LABELS:
            return queryset.filter(verdict__in=verdicts_reading_as(state))
        return queryset


@admin.register(FaceCheck)
class FaceCheckAdmin(MachineMadeAdmin):
    """What the face model saw in each stored image: a record machines made, read-only."""

    list_display = ("result", "position", "verdict", "outcome", "faces", "distance", "replaced", "updated_at")
    list_filter = (CheckOutcomeFilter, "verdict")
    list_select_related = ("result",)
    search_fields = ("=result__task__task_code",)
    show_full_result_count = False
    readonly_fields = [field.name for field in FaceCheck._meta.fields if field.name != "embedding"]
    exclude = ("embedding",)

    actions = ("regenerate_photo",)
    change_list_template = "admin/generation/facecheck/change_list.html"

    def get_urls(self):
        seen_before = self.admin_site.admin_view(self.seen_before_view)
        return [path("seen-before/", seen_before, name="generation_facecheck_seen_before"), *super().get_urls()]

    def seen_before_view(self, request: HttpRequest):
        """Personas whose face an earlier task already used: both of the viewer's own tasks, or everyone's for a
        superuser. A match with another user's task is not listed to others: it would tell that their task holds
        the face."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        owner = None if request.user.is_superuser else request.user
        matches = faces_seen_before(newest_personas(owner=owner), owner=owner)
        earlier = GenerationResult.objects.select_related("task").in_bulk([match.result_id for _, match in matches])
        everyone = owner is None
        context = self.admin_site.each_context(request) | {
            "title": f"Faces seen in an earlier task (the newest {RECENT} personas{'' if everyone else ' of yours'})",
            "threshold": settings.DUPLICATE_FACE_THRESHOLD,
            "matches": [(result, earlier.get(match.result_id), match) for result, match in matches],
        }
        return TemplateResponse(request, "admin/generation/facecheck/seen_before.html", context)

    @admin.display(description="outcome")
    def outcome(self, check: FaceCheck) -> str:
        return FaceState.LABELS[slot_state(check.verdict)]

    @admin.action(permissions=["regenerate"], description="Make selected photos again (from the persona's base)")
    def regenerate_photo(self, request: HttpRequest, queryset: QuerySet[FaceCheck]) -> None:
        act_on_each(
            self, request, queryset.filter(position__gt=0),
            lambda check: services.regenerate_image(check.result, check.position), "New photo asked for", "photo(s)",
        )  # fmt: skip
