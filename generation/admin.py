"""The operators' console for what the pipeline makes. Tasks, results, units and face checks are machine-made
records: the admin shows them read-only (no Add, no edit, no Django delete) and changes them only through actions,
each one a service of ours, so that every change goes the way the site's own buttons go."""

from __future__ import annotations

import json
from datetime import timedelta
from math import ceil

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Q, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import smart_split, unescape_string_literal
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from generation import selectors, services, storage
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from generation.paging import DEEPEST_ROW, KeysFirstPaginator
from generation.pipeline.face_index import RECENT, faces_seen_before, newest_personas
from generation.selectors import tasks_with_progress
from generation.selectors.faces import FaceState, face_state_sql, slot_state, verdicts_reading_as
from generation.selectors.gallery import srcset
from generation.services import cancel_task, retry_task
from generation.templatetags.task_display import email_breaks, task_title

# The 64 px image is the 256 px WebP thumbnail beside the stored image; the link opens the full size.
THUMBNAIL = (
    '<a href="{0}" target="_blank" rel="noopener"><img src="{1}" srcset="{2}" sizes="64px" alt="{3}" loading="lazy" '
    'width="64" height="64" style="{4}"></a>'
)
THUMBNAIL_STYLE = "height:64px;width:64px;object-fit:cover;border-radius:4px;margin:0 4px 4px 0"
# The admin's own colour variables, so that the chip reads in its dark theme too.
CHIP_STYLE = (
    "font-family:monospace;font-size:11px;padding:0 4px;border-radius:3px;"
    "background:var(--darkened-bg);color:var(--body-quiet-color)"
)
QUIET_STYLE = "font-size:11px;color:var(--body-quiet-color)"
BADGE_STYLE = "display:inline-block;padding:1px 8px;border-radius:9px;font-weight:600;white-space:nowrap;"
# (background, text) per status: light pills with dark text, at least 7:1 in both admin themes. Cancelled is grey:
# nobody's fault, nothing to fix.
BADGE_COLOURS = {
    GenerationTask.Status.PENDING: ("#fef3c7", "#78350f"),
    GenerationTask.Status.GENERATING_DATA: ("#dbeafe", "#1e3a8a"),
    GenerationTask.Status.GENERATING_IMAGES: ("#dbeafe", "#1e3a8a"),
    GenerationTask.Status.COMPLETED: ("#dcfce7", "#14532d"),
    GenerationTask.Status.FAILED: ("#fee2e2", "#7f1d1d"),
    GenerationTask.Status.CANCELLED: ("#e5e7eb", "#374151"),
}
TITLE_CHARACTERS = 60  # a title and its chip in ~300 px of the 790 px list


def thumbnail(url: str | None, alt: str) -> str:
    if not url:
        return "—"
    return format_html(THUMBNAIL, url, storage.thumbnail_url(url, storage.THUMBNAIL_WIDTHS[0]), srcset(url), alt,
                       THUMBNAIL_STYLE)  # fmt: skip


def badge(text: str, colours: tuple[str, str]) -> str:
    """A pill in (background, text) colours, one of BADGE_COLOURS."""
    background, colour = colours
    return format_html('<span style="{}background:{};color:{}">{}</span>', BADGE_STYLE, background, colour, text)


def status_badge(task: GenerationTask) -> str:
    colours = BADGE_COLOURS.get(task.status, BADGE_COLOURS[GenerationTask.Status.CANCELLED])
    return badge(task.get_status_display(), colours)


def ago(moment) -> str:
    """How long ago, in one unit past a day ("3 days ago", not "3 days, 11 hours ago"): the list keeps its width."""
    if timezone.now() - moment < timedelta(days=1):
        return naturaltime(moment)
    return _("%(delta)s ago") % {"delta": timesince(moment, depth=1)}


def task_page_url(task: GenerationTask) -> str:
    return reverse("task_detail", kwargs={"task_code": task.task_code})


def changelist_of(model_name: str, filter_name: str, pk: int) -> str:
    """The admin's list of a model's rows of one task or unit: `filter_name` is e.g. "task__id__exact"."""
    return f"{reverse(f'admin:generation_{model_name}_changelist')}?{filter_name}={pk}"


def calls_of(filter_name: str, pk: int) -> str:
    """The admin's list of the API calls of a task or a unit."""
    return changelist_of("apicall", filter_name, pk)


def time_ago(when) -> str:
    """A time as "3 days ago", with the exact time on hover: it keeps a list's column narrow."""
    local = timezone.localtime(when)
    return format_html(
        '<time datetime="{}" title="{}" style="white-space:nowrap">{}</time>',
        local.isoformat(), f"{local:%Y-%m-%d %H:%M}", ago(when),
    )  # fmt: skip


def task_admin_url(task_pk: int) -> str:
    return reverse("admin:generation_generationtask_change", args=[task_pk])


def task_links(task: GenerationTask) -> str:
    """The task's code, linked to its admin page, and its page on the site."""
    return format_html(
        '<a href="{}">{}</a> · <a href="{}">View on site</a>',
        task_admin_url(task.pk),
        task.task_code,
        task_page_url(task),
    )


def url_list(urls: list[str]) -> str:
    if not urls:
        return "—"
    items = format_html_join("", '<li><a href="{0}" target="_blank" rel="noopener">{0}</a></li>', ((u,) for u in urls))
    return format_html('<ol style="margin:0;padding-left:1.5em">{}</ol>', items)


def image_urls(result: GenerationResult) -> list[str]:
    return result.images if isinstance(result.images, list) else []


def search_terms(search_term: str) -> list[str]:
    """The words of a search as Django's admin splits them: quoted phrases stay one term."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def task_pk_by_code(term: str) -> Subquery:
    """The pk of the task whose code is `term`, as a scalar subquery: PostgreSQL runs it once, before the scan
    (an InitPlan), so `task_id = (…)` uses the results' task index and can OR with the name indexes. A JOIN to the
    tasks table instead would be filtered row by row."""
    return Subquery(GenerationTask.objects.filter(task_code=term.lower()).values("pk")[:1])


# Lists PostgreSQL's planner expects to hold this many rows or more are not counted exactly. Smaller ones must be:
# the admin shows a list it believes fits on one page without LIMIT, so a low estimate (a LIKE search is always
# estimated low) that is wrong would load every matching row.
ESTIMATED_COUNT_FROM = 10_000


class EstimatedCountPaginator(KeysFirstPaginator):
    """The admin's paginator counts every matching row for its "N results" and page links: over the results table
    (a million rows and growing) that COUNT(*) costs more than the rest of the page, and a filter on a column without
    an index (gender) makes it a scan of the whole table. Large lists take PostgreSQL's own estimate instead (EXPLAIN:
    table statistics, no rows read), so their count and last page are approximate; lists estimated under
    ESTIMATED_COUNT_FROM rows (searches, one task's results) are counted exactly, which is then cheap. Pages after
    the first are read keys first (generation.paging)."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, rows_of=None) -> None:
        # keys -> the rows of those keys, in the list's order (ListAdmin.get_paginator)
        rows_of = rows_of or (lambda keys: object_list.filter(pk__in=keys))
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, rows_of=rows_of)

    @cached_property
    def count(self) -> int:
        estimate = planned_rows(self.object_list)
        if estimate is not None and estimate >= ESTIMATED_COUNT_FROM:
            return estimate
        return super().count

    @cached_property
    def num_pages(self) -> int:
        """The pages offered stop DEEPEST_ROW rows in: an OFFSET reads every row it skips, so a page a million rows
        deep costs as much as the million. Older rows are a filter or a search away."""
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        pages = ceil(max(1, self.count - self.orphans) / self.per_page)
        return min(pages, ceil(DEEPEST_ROW / self.per_page))

    def page(self, number) -> Page:
        """The first page skips nothing: it is the list's own query."""
        number = self.validate_number(number)
        if number == 1 or not isinstance(self.object_list, QuerySet):
            return Paginator.page(self, number)
        return super().page(number)


def planned_rows(queryset) -> int | None:
    """How many rows PostgreSQL's planner expects `queryset` to return, or None when it cannot say."""
    if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
        return None
    explained = queryset.order_by().explain(format="json")
    if not explained:  # Django knew the answer is empty (a filter out of its column's range) and ran no query
        return 0
    return int(json.loads(explained)[0]["Plan"]["Plan Rows"])


# The permissions to queue paid API work (GenerationTask.Meta and GenerationResult.Meta): a superuser holds them, and
# other staff only when given them, as users or through a group.
RESUME_TASK = "generation.resume_task"
REGENERATE_PERSONA = "generation.regenerate_persona"


class ListAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list rows render their action checkbox as plain HTML. Django renders it through the
    form widget templates: 0.6 ms a row, a third of a 50-row list's rendering (bench/pages.py, cProfile)."""

    def get_paginator(self, request: HttpRequest, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """An EstimatedCountPaginator reads a page's rows by their keys alone, without the list's search and filters
        (PostgreSQL would run a search's trigram scan again to read 50 rows it knows by key)."""
        if not issubclass(self.paginator, EstimatedCountPaginator):
            return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        order = queryset.query.order_by
        rows = self.get_queryset(request).all()
        # The joins the ChangeList chose for its own queryset (ChangeList.apply_select_related: list_select_related,
        # or by default the foreign keys of list_display), so that no row is read by a query of its own.
        rows.query.select_related = queryset.query.select_related

        def rows_of(keys: list) -> QuerySet:
            return rows.filter(pk__in=keys).order_by(*order)

        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, rows_of=rows_of)

    def action_checkbox(self, obj) -> str:
        label = format_html(_("Select this object for an action - {}"), obj)
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


class MachineMadeAdmin(ListAdmin):
    """Rows the pipeline writes. Nobody adds one by hand, and nobody edits or deletes one through a form: the
    change page is a view, and the actions (services) are the only way to change anything."""

    # A filtered or searched list would carry its filters into each row's link, which Django checks by resolving
    # that link: a walk of the URLconf per row. With no form to save, no page returns to the filtered list.
    preserve_filters = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Django's delete would leave the rows' files in storage, or a task's units half-planned.
        return False

    # The actions' own checks (allowed_permissions): the forms above are closed to everyone, so an action asks for
    # the user's own change or delete permission of the model, or for the permission to queue paid work.
    def has_change_by_action_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    def has_delete_by_action_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('delete', self.opts)}")

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RESUME_TASK)

    def has_regenerate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REGENERATE_PERSONA)


TASK_FILTER = "task__id__exact"  # a task's results, as its progress link opens them


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
        "completed_at", "api_calls", "credentials",
    )  # fmt: skip
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Rendering a row of the admin's list costs ~0.5 ms (Django resolves and reverses URLs per row): 100 rows were
    # half of the page's time.
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("task_code", "user", "status_badge", "progress", "faces", "results_link")}),
        ("Request", {"fields": ("persona_description", "bio_language", "number_to_generate", "images_per_persona")}),
        ("Outcome", {"fields": ("error_log", "created_at", "updated_at", "completed_at", "api_calls", "credentials")}),
    )

    actions = ("retry_tasks", "cancel_tasks", "generate_missing", "delete_tasks")

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


@admin.register(GenerationResult)
class GenerationResultAdmin(MachineMadeAdmin):
    list_display = (
        "full_name", "gender", "task_link", "batch_number", "base_thumbnail", "image_count", "faces", "created_at",
    )  # fmt: skip
    list_filter = ("gender", "task__status", FaceStateFilter)
    list_select_related = ("task",)
    # Newest first, by the primary key (created_at has no index on the documented table).
    ordering = ("-id",)
    search_fields = ("=task__task_code", "firstname", "lastname")  # what get_search_results does, for the record
    search_help_text = (
        "A task id (whole), or a first or last name (at least 3 letters; within one task's results, any length)."
    )
    readonly_fields = (
        "full_name", "gender", "task_links", "batch_number", "created_at", "bio_facebook", "bio_instagram", "bio_x",
        "bio_tiktok", "base_thumbnail", "base_image_link", "image_thumbnails", "image_links",
    )  # fmt: skip
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50  # as for tasks; and 50 thumbnails are plenty for one screen
    fieldsets = (
        (None, {"fields": ("full_name", "gender", "task_links", "batch_number", "created_at")}),
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
        earlier = GenerationResult.objects.select_related("task").in_bulk([match.result_pk for _, match in matches])
        everyone = owner is None
        context = self.admin_site.each_context(request) | {
            "title": f"Faces seen in an earlier task (the newest {RECENT} personas{'' if everyone else ' of yours'})",
            "threshold": settings.DUPLICATE_FACE_THRESHOLD,
            "matches": [(result, earlier.get(match.result_pk), match) for result, match in matches],
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


# Registers the admins of the call record and of the Content Credentials.
from generation import cost_admin, provenance_admin  # noqa: E402, F401
