"""The admin's record of API calls, the price table in force, and the monthly budgets of users."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from generation.admin.base import EstimatedCountPaginator, MachineMadeAdmin, task_admin_url
from generation.costs import plans, prices
from generation.models import ApiCall, UserBudget


class ModelFilter(admin.SimpleListFilter):
    """By model: the models of the settings and of the price table, named without reading a million rows for
    their distinct values (what Django's filter on a plain text column would do)."""

    title = "model"
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        plan = plans.current()
        names = set(prices.table()) | {plan.text_model, plan.image_model}
        return [(name, name) for name in sorted(names)]

    def queryset(self, request: HttpRequest, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


@admin.register(ApiCall)
class ApiCallAdmin(MachineMadeAdmin):
    """Every try of every API call, as it was paid for. Read-only: the pipeline writes it."""

    list_display = ("created_at", "kind", "model", "outcome", "http_status", "latency_ms", "cost", "task_link")
    # By day: Today, Past 7 days, This month (a date hierarchy would read every row's date to draw itself).
    list_filter = ("created_at", "kind", ModelFilter, "outcome", "priced")
    list_select_related = ("task",)
    search_fields = ("=task__task_code",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # millions of rows
    list_per_page = 50  # as for tasks and results: rendering a row costs more than reading it
    change_list_template = "admin/generation/apicall/change_list.html"

    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost(self, call: ApiCall) -> str:
        return f"{call.cost_usd:.4f}" if call.priced else "unknown"

    @admin.display(description="task")
    def task_link(self, call: ApiCall) -> str:
        if call.task_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', task_admin_url(call.task_id), call.task.task_code)

    def get_urls(self):
        prices_view = self.admin_site.admin_view(self.prices_view)
        return [path("prices/", prices_view, name="generation_apicall_prices"), *super().get_urls()]

    def prices_view(self, request: HttpRequest) -> TemplateResponse:
        """The price table in force: the defaults with OPENAI_PRICES over them."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = [
            (model, {kind: entry["per_million"].get(kind) for kind in prices.TOKEN_KINDS}, entry["per_image"])
            for model, entry in sorted(prices.table().items())
        ]
        context = {**self.admin_site.each_context(request), "title": "Prices in force", "rows": rows,
                   "kinds": prices.TOKEN_KINDS, "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/generation/apicall/prices.html", context)


@admin.register(UserBudget)
class UserBudgetAdmin(admin.ModelAdmin):
    """A user's own monthly cap, over MONTHLY_BUDGET_USD: empty is no cap, 0 lets nothing be spent."""

    list_display = ("user", "cap")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    autocomplete_fields = ("user",)

    @admin.display(description="monthly cap", ordering="monthly_usd")
    def cap(self, budget: UserBudget) -> str:
        return "no cap" if budget.monthly_usd is None else f"${budget.monthly_usd:.2f}"
