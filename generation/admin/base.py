"""The operators' console for what the pipeline makes. Tasks, results, units and face checks are machine-made
records: the admin shows them read-only (no Add, no edit, no Django delete) and changes them only through actions,
each one a service of ours, so that every change goes the way the site's own buttons go."""

from __future__ import annotations

import json
from datetime import timedelta
from math import ceil

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from generation.integrations import storage
from generation.models import GenerationResult, GenerationTask
from generation.selectors.gallery import srcset
from generation.selectors.paging import DEEPEST_ROW, KeysFirstPaginator

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
    the first are read keys first (generation.selectors.paging)."""

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
