"""The admin of tasks and of the pipeline's units: status, progress, owner, and the actions that cancel, retry
and delete tasks, each through a service."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from generation import selectors, services
from generation.admin.base import (
    CHIP_STYLE,
    QUIET_STYLE,
    TASK_FILTER,
    TITLE_CHARACTERS,
    EstimatedCountPaginator,
    MachineMadeAdmin,
    act_on_each,
    calls_of,
    changelist_of,
    results_changelist_url,
    search_terms,
    status_badge,
    task_admin_url,
    task_page_url,
    time_ago,
)
from generation.integrations import countries
from generation.models import GenerationTask, PipelineUnit
from generation.pipeline.skeletons import people_request
from generation.selectors import tasks_with_progress
from generation.services import cancel_task, retry_task
from generation.web.task_display import email_breaks, task_title


@admin.register(GenerationTask)
class GenerationTaskAdmin(MachineMadeAdmin):
    # Five columns fit the 790 px list: what was asked (with its code and owner), the status, the progress (a link
    # to the results), when, and the task's page on the site.
    list_display = ("title", "status_badge", "progress_link", "created", "site_link")
    # By user among all users, a read of the users table: "only the users with tasks" read every task for their
    # distinct owners, on every view of the list.
    list_filter = ("status", "user", "created_at", "images_per_persona")
    list_select_related = ("user",)
    search_fields = ("=task_code", "persona_description")
    search_help_text = "A task id (whole), or words of the description."
    # No date_hierarchy: its year/month links cost two more scans of the listed tasks (MIN/MAX and DISTINCT months
    # of created_at, which has no index and, on the documented table, gets none) on every list view, a third of a
    # search's time. The created_at filter above offers today / 7 days / this month / this year without a query.
    readonly_fields = (
        "task_code", "user", "status_badge", "progress", "faces", "results_link", "persona_description",
        "bio_language", "number_to_generate", "images_per_persona", "error_log", "created_at", "updated_at",
        "completed_at", "api_calls", "credentials", "ages_asked", "gender_asked", "country_asked", "seed",
    )  # fmt: skip
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Rendering a row of the admin's list costs ~0.5 ms (Django resolves and reverses URLs per row): 100 rows were
    # half of the page's time.
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("task_code", "user", "status_badge", "progress", "faces", "results_link")}),
        ("Request", {"fields": ("persona_description", "bio_language", "number_to_generate", "images_per_persona")}),
        ("People asked for", {"fields": ("ages_asked", "gender_asked", "country_asked", "seed")}),
        ("Outcome", {"fields": ("error_log", "created_at", "updated_at", "completed_at", "api_calls", "credentials")}),
    )

    actions = ("retry_tasks", "cancel_tasks", "generate_missing", "delete_tasks")

    # A task made before requests were stored has none: its pipeline reads the defaults, which the ages say.
    @admin.display(description="ages")
    def ages_asked(self, task: GenerationTask) -> str:
        request = people_request(task)
        ages = f"{request.age_min}–{request.age_max}"
        return ages if request.pk else f"{ages} (the defaults: the task stores no request)"

    @admin.display(description="gender")
    def gender_asked(self, task: GenerationTask) -> str:
        return people_request(task).get_gender_display()

    @admin.display(description="country")
    def country_asked(self, task: GenerationTask) -> str:
        code = people_request(task).country
        return f"{countries.name_of(code) or code} ({code})" if code else "The bio language's own"

    @admin.display(description="seed")
    def seed(self, task: GenerationTask) -> str:
        return str(people_request(task).seed)

    @admin.display(description="API calls")
    def api_calls(self, task: GenerationTask) -> str:
        return format_html('<a href="{}">The calls this task paid for</a>', calls_of("task__id__exact", task.pk))

    @admin.display(description="Content Credentials")
    def credentials(self, task: GenerationTask) -> str:
        url = changelist_of("imagecredential", TASK_FILTER, task.pk)
        return format_html('<a href="{}">Content Credentials of its files</a>', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet[GenerationTask]:
        return tasks_with_progress(super().get_queryset(request))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[GenerationTask], search_term: str
    ) -> tuple[QuerySet[GenerationTask], bool]:
        """Each word is a whole task id or part of the description. Django's own search would also match parts of
        ids (`UPPER(task_id) LIKE '%…%'`), which no index serves, so the OR of the two read every task; a code by
        the unique index and the description by its trigram index (migration 0014) are two index scans."""
        query = Q()
        for term in search_terms(search_term):
            query &= Q(task_code=term.lower()) | Q(persona_description__icontains=term)
        return queryset.filter(query), False

    def view_on_site(self, task: GenerationTask) -> str:
        return task_page_url(task)

    @admin.display(description="task")
    def title(self, task: GenerationTask) -> str:
        return format_html(
            '{}<br><span style="{}">{}</span> <span style="{}">{}</span>',
            task_title(task, TITLE_CHARACTERS), CHIP_STYLE, task.task_code, QUIET_STYLE, email_breaks(task.user.email),
        )  # fmt: skip

    @admin.display(description="status", ordering="status")
    def status_badge(self, task: GenerationTask) -> str:
        return status_badge(task)

    @admin.display(description="progress")
    def progress_link(self, task: GenerationTask) -> str:
        return format_html(
            '<a href="{}" title="Personas with images / with data / asked: open the results"'
            ' style="white-space:nowrap">{} / {} / {}</a>',
            results_changelist_url(task), task.personas_done, task.personas_with_data, task.number_to_generate,
        )  # fmt: skip

    # Sorted by id, which follows creation and has an index; created_at has none on the documented table.
    @admin.display(description="created", ordering="id")
    def created(self, task: GenerationTask) -> str:
        return time_ago(task.created_at)

    @admin.display(description="site")
    def site_link(self, task: GenerationTask) -> str:
        return format_html(
            '<a href="{}" aria-label="View task {} on the site" style="white-space:nowrap">View on site</a>',
            task_page_url(task), task.task_code,
        )  # fmt: skip

    @admin.display(description="faces")
    def faces(self, task: GenerationTask) -> str:
        return selectors.face_summary(task)

    @admin.display(description="personas done / with data / asked")
    def progress(self, task: GenerationTask) -> str:
        return f"{task.personas_done} / {task.personas_with_data} / {task.number_to_generate}"

    @admin.display(description="results")
    def results_link(self, task: GenerationTask) -> str:
        return format_html('<a href="{}">View {} result(s)</a>', results_changelist_url(task), task.personas_with_data)

    @admin.action(permissions=["resume"], description="Retry selected tasks (failed or stalled; finished work is kept)")
    def retry_tasks(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, lambda task: retry_task(task, by=request.user), "Retried")

    @admin.action(permissions=["change_by_action"], description="Cancel selected running tasks")
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, lambda task: cancel_task(task, by=request.user), "Cancelled")

    @admin.action(
        permissions=["resume"], description="Generate the missing personas of selected tasks that came out short"
    )
    def generate_missing(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        act_on_each(self, request, queryset, services.generate_missing, "Generating the missing personas of")

    @admin.action(permissions=["delete_by_action"], description="Delete selected tasks, their personas and their files")
    def delete_tasks(self, request: HttpRequest, queryset: QuerySet[GenerationTask]) -> None:
        """Instead of Django's "delete selected", which would leave the tasks' files in storage."""
        act_on_each(self, request, queryset, services.delete_task, "Deleted")


@admin.register(PipelineUnit)
class PipelineUnitAdmin(MachineMadeAdmin):
    """The pipeline's units, for finding out why a task is slow or failed."""

    list_display = ("__str__", "task_link", "kind", "state", "attempts", "note", "updated_at")
    list_filter = ("state", "kind")
    list_select_related = ("task",)  # a unit's name starts with its task's code
    search_fields = ("task__task_code", "note")
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # a unit per persona and per batch: as large as the results

    @admin.display(description="task", ordering="task_id")
    def task_link(self, unit: PipelineUnit) -> str:
        return format_html('<a href="{}">{}</a>', task_admin_url(unit.task_id), unit.task.task_code)

    @admin.display(description="API calls")
    def api_calls(self, unit: PipelineUnit) -> str:
        return format_html('<a href="{}">The calls this unit paid for</a>', calls_of("unit__id__exact", unit.pk))

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return (*super().get_readonly_fields(request, obj), "api_calls")
