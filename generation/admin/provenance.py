"""The admin's record of the stored files' Content Credentials (ImageCredential): one row a file, written as it was
stored and again by `verify_provenance`. Read-only, as the pipeline's other records.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from generation.admin.base import (
    BADGE_COLOURS,
    EstimatedCountPaginator,
    MachineMadeAdmin,
    badge,
    search_terms,
    task_admin_url,
    task_links,
    task_pk_by_code,
    time_ago,
)
from generation.integrations import storage
from generation.integrations.provenance.records import STORING, VERIFYING
from generation.models import GenerationTask, ImageCredential

Verdict = ImageCredential.Verdict
# The task badges' colours: verified reads as done, invalid (a manifest that fails) as failed, missing (none at all,
# or stripped) as amber, so that the two failures tell apart at a glance.
VERDICT_COLOURS = {
    Verdict.VERIFIED: BADGE_COLOURS[GenerationTask.Status.COMPLETED],
    Verdict.INVALID: BADGE_COLOURS[GenerationTask.Status.FAILED],
    Verdict.MISSING: BADGE_COLOURS[GenerationTask.Status.PENDING],
}
LABEL_PREFIX = "urn:"  # C2PA manifest labels are URNs ("urn:c2pa:…", "urn:uuid:…")


class CheckedByFilter(admin.SimpleListFilter):
    """By who checked: the two writers of these rows, named without reading every row for their distinct values
    (what Django's filter on a plain text column would do)."""

    title = "checked by"
    parameter_name = "checked_by"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(STORING, "when stored"), (VERIFYING, "verify_provenance")]

    def queryset(self, request: HttpRequest, queryset):
        return queryset.filter(checked_by=self.value()) if self.value() else queryset


@admin.register(ImageCredential)
class ImageCredentialAdmin(MachineMadeAdmin):
    """Every stored file's Content Credentials as last read back: what failed, since when, and why."""

    # The signer (the same for nearly every row) is on the change page.
    list_display = ("file_key", "verdict_badge", "task_link", "size_kb", "checked_by", "checked")
    # By day: Today, Past 7 days, This month. No date hierarchy, whose links group every row by date to draw
    # themselves.
    list_filter = ("verdict", CheckedByFilter, "checked_at")
    list_select_related = ("task",)
    # Newest checked first, and the day filter: both by the index on (checked_at, id).
    ordering = ("-checked_at", "-id")
    search_fields = ("=task__task_code", "^key", "=manifest_label")  # what get_search_results does, for the record
    search_help_text = (
        "A task id (whole), a file's key or its start (avatars/<task id>/<persona>/), a file's URL, or a manifest "
        "label (urn:…)."
    )
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # a row per stored file: several per persona
    list_per_page = 50
    readonly_fields = (
        "key", "file_link", "verdict_badge", "problems", "task_links", "result", "manifest_label", "signer", "sha256",
        "size_kb", "signed_at", "checked_at", "checked_by",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("key", "file_link", "verdict_badge", "problems", "task_links", "result")}),
        ("Manifest", {"fields": ("manifest_label", "signer", "sha256", "size_kb")}),
        ("Checks", {"fields": ("signed_at", "checked_at", "checked_by")}),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ImageCredential], search_term: str
    ) -> tuple[QuerySet[ImageCredential], bool]:
        """Each word is a whole task id or the start of a key (a URL stands for its key), each served by an index
        (the task's, through a scalar subquery as for results, and the key's `LIKE 'x%'` one); a manifest label
        (urn:…) is looked up alone, as it has no index and an OR with it would scan every row."""
        query = Q()
        for term in search_terms(search_term):
            if term.startswith(LABEL_PREFIX):
                query &= Q(manifest_label=term)
            else:
                query &= Q(task_id=task_pk_by_code(term)) | Q(key__startswith=storage.search_key(term))
        return queryset.filter(query), False

    @admin.display(description="key", ordering="key")
    def file_key(self, credential: ImageCredential) -> str:
        """The key, free to break after a slash ("avatars/<task>/<persona>/" over "3.thumb256.webp"): the list
        then fits the admin's 790 px beside its filters."""
        return mark_safe("/<wbr>".join(escape(part) for part in credential.key.split("/")))

    @admin.display(description="verdict", ordering="verdict")
    def verdict_badge(self, credential: ImageCredential) -> str:
        return badge(credential.get_verdict_display(), VERDICT_COLOURS[credential.verdict])

    @admin.display(description="task", ordering="task_id")
    def task_link(self, credential: ImageCredential) -> str:
        return format_html('<a href="{}">{}</a>', task_admin_url(credential.task_id), credential.task.task_code)

    @admin.display(description="task")
    def task_links(self, credential: ImageCredential) -> str:
        return task_links(credential.task)

    @admin.display(description="size (KB)", ordering="size")
    def size_kb(self, credential: ImageCredential) -> str:
        return f"{credential.size / 1024:,.1f}"

    @admin.display(description="checked", ordering="checked_at")
    def checked(self, credential: ImageCredential) -> str:
        return time_ago(credential.checked_at)

    @admin.display(description="file")
    def file_link(self, credential: ImageCredential) -> str:
        return format_html('<a href="{}" target="_blank" rel="noopener">Open the file</a>', storage.url(credential.key))

    @admin.display(description="problems")
    def problems(self, credential: ImageCredential) -> str:
        """One problem a line (records.row joins them with "; ")."""
        if not credential.problem:
            return "None"
        # The admin's form styles take list items' bullets away; a problem that wraps would read as two.
        items = format_html_join(
            "", '<li style="list-style:disc">{}</li>', ((p,) for p in credential.problem.split("; "))
        )
        return format_html('<ul style="margin:0;padding-left:1.2em">{}</ul>', items)
