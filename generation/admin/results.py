"""The admin of results (personas): their photos as thumbnails, their face state, and the operator's actions on
them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from generation import services
from generation.admin.base import (
    TASK_FILTER,
    EstimatedCountPaginator,
    MachineMadeAdmin,
    act_on_each,
    image_urls,
    search_terms,
    task_admin_url,
    task_links,
    task_pk_by_code,
    thumbnail,
    url_list,
)
from generation.models import GenerationResult
from generation.selectors.faces import FaceState, face_state_sql
from generation.services.exports import persona_details


class FaceStateFilter(admin.SimpleListFilter):
    """Personas by face state: verified, not checked (no face found, or no check) or flagged. Offered within one
    task's results (its progress link opens them): over every result the state, read row by row, has no index."""

    title = "faces"
    parameter_name = "faces"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return FaceState.choices if TASK_FILTER in request.GET else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> QuerySet[GenerationResult]:
        if self.value() in FaceState.LABELS and TASK_FILTER in request.GET:
            return queryset.filter(face_state=self.value())
        return queryset


class AgeBandFilter(admin.SimpleListFilter):
    """Personas by age band (the index on age of migration 0028 serves it); "not known" for those with no age, as
    every persona made before the profile existed."""

    title = "age"
    parameter_name = "age"
    # value: (label, lowest, highest), None for no bound. Under 18 is there to find what an old database may hold.
    BANDS = {
        "18-29": ("18–29", 18, 29),
        "30-44": ("30–44", 30, 44),
        "45-59": ("45–59", 45, 59),
        "60+": ("60 and over", 60, None),
        "under-18": ("under 18", None, 17),
    }

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(band, label) for band, (label, _, _) in self.BANDS.items()] + [("unknown", "not known")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> QuerySet[GenerationResult]:
        if self.value() == "unknown":
            return queryset.filter(age__isnull=True)
        if self.value() in self.BANDS:
            _, low, high = self.BANDS[self.value()]
            if low is not None:
                queryset = queryset.filter(age__gte=low)
            return queryset.filter(age__lte=high) if high is not None else queryset
        return queryset


@admin.register(GenerationResult)
class GenerationResultAdmin(MachineMadeAdmin):
    list_display = (
        "full_name", "gender", "task_link", "batch_number", "base_thumbnail", "image_count", "faces", "created_at",
    )  # fmt: skip
    list_filter = ("gender", AgeBandFilter, "task__status", FaceStateFilter)
    list_select_related = ("task",)
    # Newest first, by the primary key (created_at has no index on the documented table).
    ordering = ("-id",)
    # What get_search_results does, for the record.
    search_fields = ("=task__task_code", "firstname", "lastname", "job_title", "current_city")
    search_help_text = (
        "A task id (whole), or part of a first or last name, a job title or a city (at least 3 letters; within one "
        "task's results, any length)."
    )
    readonly_fields = (
        "full_name", "gender", "task_links", "batch_number", "created_at", "bio_facebook", "bio_instagram", "bio_x",
        "bio_tiktok", "base_thumbnail", "base_image_link", "image_thumbnails", "image_links",
        *GenerationResult.PROFILE_FIELDS, "look", "interests", "photo_ideas",
    )  # fmt: skip
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50  # as for tasks; and 50 thumbnails are plenty for one screen
    fieldsets = (
        (None, {"fields": ("full_name", "gender", "task_links", "batch_number", "created_at")}),
        ("Profile", {"fields": GenerationResult.PROFILE_FIELDS}),
        ("Details", {"fields": ("look", "interests", "photo_ideas")}),
        ("Bios", {"fields": ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok")}),
        ("Base selfie", {"fields": ("base_thumbnail", "base_image_link")}),
        ("Photos", {"fields": ("image_thumbnails", "image_links")}),
    )
    actions = ("regenerate_photos", "regenerate_bios", "delete_personas")

    def get_queryset(self, request: HttpRequest) -> QuerySet[GenerationResult]:
        # Correlated lookups on the checks' (result, position) index, run for the page's rows only.
        return super().get_queryset(request).annotate(face_state=face_state_sql())

    @admin.action(permissions=["regenerate"], description="Make new photos of selected personas (a new base and grids)")
    def regenerate_photos(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        act_on_each(self, request, queryset, services.regenerate_photos, "New photos asked for", "persona(s)")

    @admin.action(permissions=["regenerate"], description="Write new bios for selected personas")
    def regenerate_bios(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        act_on_each(self, request, queryset, services.regenerate_bios, "New bios asked for", "persona(s)")

    @admin.action(permissions=["delete_by_action"], description="Delete selected personas and their files")
    def delete_personas(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        """Instead of Django's "delete selected", which would leave the personas' files behind."""
        act_on_each(self, request, queryset, services.delete_persona, "Deleted", "persona(s)")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[GenerationResult], search_term: str
    ) -> tuple[QuerySet[GenerationResult], bool]:
        """Each word is a whole task id, or part of a first or last name. Django's own search ORs a JOIN to the
        tasks (for `=task__task_code`) with the names, and PostgreSQL can then only filter the million results one
        by one: that is why a name outside a task used to be refused (and "Rousseau" found nothing). Here the task
        id is a scalar subquery and the names have trigram indexes (migration 0014), so each word is an OR of index
        scans. Over all results a name needs 3 letters, the shortest a trigram index can look up; within one task's
        results, the task's index narrows the rows first, so any length will do."""
        within_task = TASK_FILTER in request.GET
        query = Q()
        for term in search_terms(search_term):
            matches = Q(task_id=task_pk_by_code(term))
            if within_task or len(term) >= 3:
                matches |= Q(firstname__icontains=term) | Q(lastname__icontains=term)
                matches |= Q(job_title__icontains=term) | Q(current_city__icontains=term)
            query &= matches
        return queryset.filter(query), False

    @admin.display(description="name", ordering="lastname")
    def full_name(self, result: GenerationResult) -> str:
        return result.full_name

    @admin.display(description="task", ordering="task__task_code")
    def task_link(self, result: GenerationResult) -> str:
        return format_html('<a href="{}">{}</a>', task_admin_url(result.task_id), result.task.task_code)

    @admin.display(description="task")
    def task_links(self, result: GenerationResult) -> str:
        return task_links(result.task)

    @admin.display(description="base image")
    def base_thumbnail(self, result: GenerationResult) -> str:
        return thumbnail(result.base_image_url, f"Base selfie of {result.full_name}")

    @admin.display(description="base image URL")
    def base_image_link(self, result: GenerationResult) -> str:
        return url_list([result.base_image_url] if result.base_image_url else [])

    @admin.display(description="images")
    def image_count(self, result: GenerationResult) -> int:
        return len(image_urls(result))

    @admin.display(description="faces")
    def faces(self, result: GenerationResult) -> str:
        return FaceState.LABELS[result.face_state]

    @admin.display(description="photos")
    def image_thumbnails(self, result: GenerationResult) -> str:
        urls = image_urls(result)
        if not urls:
            return "—"
        return mark_safe("".join(thumbnail(url, f"Photo {n} of {result.full_name}") for n, url in enumerate(urls, 1)))

    @admin.display(description="photo URLs")
    def image_links(self, result: GenerationResult) -> str:
        return url_list(image_urls(result))

    # The details are the change page's only: the list never reads them, so it needs no join to their table.
    @admin.display(description="look")
    def look(self, result: GenerationResult) -> str:
        return persona_details(result)[0] or "—"

    @admin.display(description="interests")
    def interests(self, result: GenerationResult) -> str:
        return ", ".join(persona_details(result)[1]) or "—"

    @admin.display(description="photo ideas")
    def photo_ideas(self, result: GenerationResult) -> str:
        """In the photos' order, numbered as their thumbnails are."""
        ideas = persona_details(result)[2]
        if not ideas:
            return "—"
        items = format_html_join("", "<li>{}</li>", ((idea,) for idea in ideas))
        return format_html('<ol style="margin:0;padding-left:1.5em">{}</ol>', items)
