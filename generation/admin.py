import json

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from generation import selectors, services
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from generation.pipeline.face_index import RECENT, faces_seen_before, newest_personas
from generation.selectors import tasks_with_progress
from generation.services import cancel_task, retry_task

THUMBNAIL = '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}" loading="lazy" style="{2}"></a>'
THUMBNAIL_STYLE = "height:64px;width:64px;object-fit:cover;border-radius:4px;margin:0 4px 4px 0"


def thumbnail(url: str | None, alt: str) -> str:
    if not url:
        return "—"
    return format_html(THUMBNAIL, url, alt, THUMBNAIL_STYLE)


# Lists PostgreSQL's planner expects to hold this many rows or more are not counted exactly. Smaller ones must be:
# the admin shows a list it believes fits on one page without LIMIT, so a low estimate (a LIKE search is always
# estimated low) that is wrong would load every matching row.
ESTIMATED_COUNT_FROM = 10_000


class EstimatedCountPaginator(Paginator):
    """The admin's paginator counts every matching row for its "N results" and page links: over the results table
    (a million rows and growing) that COUNT(*) costs more than the rest of the page, and a filter on a column without
    an index (gender) makes it a scan of the whole table. Large lists take PostgreSQL's own estimate instead (EXPLAIN:
    table statistics, no rows read), so their count and last page are approximate; lists estimated under
    ESTIMATED_COUNT_FROM rows (searches, one task's results) are counted exactly, which is then cheap."""

    @cached_property
    def count(self) -> int:
        estimate = planned_rows(self.object_list)
        if estimate is not None and estimate >= ESTIMATED_COUNT_FROM:
            return estimate
        return super().count


def planned_rows(queryset) -> int | None:
    """How many rows PostgreSQL's planner expects `queryset` to return, or None when it cannot say."""
    if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class ListAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list rows render their action checkbox as plain HTML. Django renders it through the
    form widget templates: 0.6 ms a row, a third of a 50-row list's rendering (bench/pages.py, cProfile)."""

    def action_checkbox(self, obj) -> str:
        label = format_html(_("Select this object for an action - {}"), obj)
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


TASK_FILTER = "task__id__exact"  # a task's results, as its "View results" link opens them


def results_changelist_url(task: GenerationTask) -> str:
    return f"{reverse('admin:generation_generationresult_changelist')}?{TASK_FILTER}={task.pk}"


def act_on_each(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, action, verb: str, noun: str = "task(s)"
) -> None:
    """Run a service on each selected row; a refusal (ValidationError) is shown and the others still run."""
    done = []
    for row in queryset:
        try:
            action(row)
        except ValidationError as error:
            model_admin.message_user(request, " ".join(error.messages), messages.WARNING)
        else:
            done.append(str(row))
    if done:
        model_admin.message_user(request, f"{verb} {len(done)} {noun}: {', '.join(done)}.", messages.SUCCESS)


@admin.register(GenerationTask)
class GenerationTaskAdmin(ListAdmin):
    list_display = (
        "task_code",
        "user",
        "status",
        "progress",
        "images_per_persona",
        "bio_language",
        "created_at",
        "completed_at",
        "results_link",
    )
    list_filter = ("status", ("user", admin.RelatedOnlyFieldListFilter), "created_at", "images_per_persona")
    list_select_related = ("user",)
    search_fields = ("task_code", "persona_description")
    # No date_hierarchy: its year/month links cost two more scans of the listed tasks (MIN/MAX and DISTINCT months
    # of created_at, which has no index and, on the documented table, gets none) on every list view, a third of a
    # search's time. The created_at filter above offers today / 7 days / this month / this year without a query.
    raw_id_fields = ("user",)
    readonly_fields = ("task_code", "created_at", "updated_at", "completed_at", "progress", "results_link", "faces")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Rendering a row of the admin's list costs ~0.5 ms (Django resolves and reverses URLs per row): 100 rows were
    # half of the page's time.
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("task_code", "user", "status", "progress", "faces", "results_link")}),
        ("Request", {"fields": ("persona_description", "bio_language", "number_to_generate", "images_per_persona")}),
        ("Outcome", {"fields": ("error_log", "created_at", "updated_at", "completed_at")}),
    )

    actions = ("retry_tasks", "cancel_tasks", "generate_missing")

    @admin.display(description="faces")
    def faces(self, task: GenerationTask) -> str:
        return selectors.face_summary(task)

    def get_queryset(self, request: HttpRequest) -> QuerySet[GenerationTask]:
        return tasks_with_progress(super().get_queryset(request))

    @admin.action(description="Retry selected tasks (failed or stalled; finished work is kept)")
    def retry_tasks(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, lambda task: retry_task(task, by=request.user), "Retried")

    @admin.action(description="Cancel selected running tasks")
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, lambda task: cancel_task(task, by=request.user), "Cancelled")

    @admin.action(description="Generate the missing personas of selected tasks that came out short")
    def generate_missing(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, services.generate_missing, "Generating the missing personas of")

    @admin.display(description="personas done / with data / asked")
    def progress(self, task: GenerationTask) -> str:
        return f"{task.personas_done} / {task.personas_with_data} / {task.number_to_generate}"

    @admin.display(description="results")
    def results_link(self, task: GenerationTask) -> str:
        return format_html('<a href="{}">View {} result(s)</a>', results_changelist_url(task), task.personas_with_data)


@admin.register(GenerationResult)
class GenerationResultAdmin(ListAdmin):
    list_display = ("full_name", "gender", "task_link", "batch_number", "base_thumbnail", "image_count", "created_at")
    list_filter = ("gender", "task__status")
    list_select_related = ("task",)
    # Names are searched within one task's results only (see get_search_results).
    search_fields = ("=task__task_code", "firstname", "lastname")
    search_help_text = "Task ids (exact). To search by name, open a task's results first (its “View results” link)."
    raw_id_fields = ("task",)
    readonly_fields = ("created_at", "base_thumbnail", "image_thumbnails", "images")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50  # as for tasks; and 50 thumbnails are plenty for one screen
    fieldsets = (
        (None, {"fields": ("task", "batch_number", "firstname", "lastname", "gender")}),
        ("Bios", {"fields": ("bio_facebook", "bio_instagram", "bio_x", "bio_tiktok")}),
        ("Images", {"fields": ("base_image_url", "base_thumbnail", "image_thumbnails", "images")}),
        (None, {"fields": ("created_at",)}),
    )
    actions = ("regenerate_photos", "regenerate_bios", "delete_personas")

    def get_actions(self, request: HttpRequest) -> dict:
        """Django's own "delete selected" would leave the personas' files behind: ours removes them too."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Make new photos of selected personas (a new base and grids)")
    def regenerate_photos(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        act_on_each(self, request, queryset, services.regenerate_photos, "New photos asked for", "persona(s)")

    @admin.action(description="Write new bios for selected personas")
    def regenerate_bios(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        act_on_each(self, request, queryset, services.regenerate_bios, "New bios asked for", "persona(s)")

    @admin.action(description="Delete selected personas and their files")
    def delete_personas(self, request: HttpRequest, queryset: QuerySet[GenerationResult]) -> None:
        act_on_each(self, request, queryset, services.delete_persona, "Deleted", "persona(s)")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[GenerationResult], search_term: str
    ) -> tuple[QuerySet[GenerationResult], bool]:
        """Over all results, only task ids: a name search there would read every row of the table (no index on the
        names, and the documented table gets none), a second or more at a million rows. Within one task's results
        (task__id__exact, as the task list links them), names too: the task's index narrows it to a few hundred rows."""
        if TASK_FILTER in request.GET:
            return super().get_search_results(request, queryset, search_term)
        task_codes = search_term.split()
        return (queryset.filter(task__task_code__in=task_codes) if task_codes else queryset), False

    @admin.display(description="name", ordering="lastname")
    def full_name(self, result: GenerationResult) -> str:
        return result.full_name

    @admin.display(description="task", ordering="task__task_code")
    def task_link(self, result: GenerationResult) -> str:
        url = reverse("admin:generation_generationtask_change", args=[result.task.pk])
        return format_html('<a href="{}">{}</a>', url, result.task.task_code)

    @admin.display(description="base image")
    def base_thumbnail(self, result: GenerationResult) -> str:
        return thumbnail(result.base_image_url, f"Base selfie of {result.full_name}")

    @admin.display(description="images")
    def image_count(self, result: GenerationResult) -> int:
        return len(result.images) if isinstance(result.images, list) else 0

    @admin.display(description="image thumbnails")
    def image_thumbnails(self, result: GenerationResult) -> str:
        urls = result.images if isinstance(result.images, list) else []
        if not urls:
            return "—"
        return format_html_join(
            "",
            THUMBNAIL,
            ((url, f"Image {n} of {result.full_name}", THUMBNAIL_STYLE) for n, url in enumerate(urls, 1)),
        )


@admin.register(PipelineUnit)
class PipelineUnitAdmin(ListAdmin):
    """Read-only view of the pipeline's units, for finding out why a task is slow or failed."""

    list_display = ("__str__", "task", "kind", "number", "state", "attempts", "note", "updated_at")
    list_filter = ("state", "kind")
    list_select_related = ("task",)
    search_fields = ("task__task_code", "note")
    raw_id_fields = ("task", "result")
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # a unit per persona and per batch: as large as the results

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PipelineUnit | None = None) -> bool:
        return False


@admin.register(FaceCheck)
class FaceCheckAdmin(admin.ModelAdmin):
    """What the face model saw in each stored image: a record machines made, read-only."""

    list_display = ("result", "position", "verdict", "faces", "distance", "replaced", "updated_at")
    list_filter = ("verdict",)
    list_select_related = ("result",)
    search_fields = ("=result__task__task_code",)
    raw_id_fields = ("result",)
    show_full_result_count = False
    readonly_fields = [field.name for field in FaceCheck._meta.fields if field.name != "embedding"]
    exclude = ("embedding",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    actions = ("regenerate_photo",)
    change_list_template = "admin/generation/facecheck/change_list.html"

    def get_urls(self):
        seen_before = self.admin_site.admin_view(self.seen_before_view)
        return [path("seen-before/", seen_before, name="generation_facecheck_seen_before"), *super().get_urls()]

    def seen_before_view(self, request: HttpRequest):
        """Personas whose face an earlier task already used."""
        matches = faces_seen_before(newest_personas())
        earlier = GenerationResult.objects.select_related("task").in_bulk([match.result_pk for _, match in matches])
        context = self.admin_site.each_context(request) | {
            "title": f"Faces seen in an earlier task (the newest {RECENT} personas)",
            "threshold": settings.DUPLICATE_FACE_THRESHOLD,
            "matches": [(result, earlier.get(match.result_pk), match) for result, match in matches],
        }
        return TemplateResponse(request, "admin/generation/facecheck/seen_before.html", context)

    @admin.action(description="Make selected photos again (from the persona's base)")
    def regenerate_photo(self, request: HttpRequest, queryset: QuerySet[FaceCheck]) -> None:
        act_on_each(
            self, request, queryset.filter(position__gt=0),
            lambda check: services.regenerate_image(check.result, check.position), "New photo asked for", "photo(s)",
        )  # fmt: skip
