"""The ledger: one row per API call try with its usage and cost, the budgets of tasks and users, and the daily
roll-up the dashboard reads."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from generation.models.tasks import GenerationResult, GenerationTask
from generation.models.units import PipelineUnit
from siteconfig.defaults import BUDGET_DIGITS, BUDGET_PLACES


class ApiCall(models.Model):
    """One try of one API call, as it was paid for: what it asked, how it ended, the usage the API reported and its
    cost. Retries are rows of their own. Written as each try ends, outside any unit's transaction, so a unit that is
    run again (its worker killed) adds its new tries beside the old ones and loses none. Owners are kept loosely
    (SET_NULL): deleting a persona or a task does not unwrite what was spent."""

    class Kind(models.TextChoices):
        PERSONAS = "personas", "Persona batch"
        BIOS = "bios", "New bios"
        IDEAS = "ideas", "New photo ideas"
        BASE = "base", "Base selfie"
        GRID = "grid", "Photo grid"
        REPLACEMENT = "replacement", "Replacement photo"
        FACE_SWAP = "face-swap", "Face swap"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        RETRIED = "retried", "Failed, tried again"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    task = models.ForeignKey(
        GenerationTask, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    unit = models.ForeignKey(
        PipelineUnit, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    result = models.ForeignKey(
        GenerationResult, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, db_index=False,
        related_name="api_calls",
    )  # fmt: skip
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False,
        db_index=False, related_name="api_calls",
    )  # fmt: skip
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model = models.CharField(max_length=100)
    size = models.CharField(max_length=20, blank=True, default="")
    quality = models.CharField(max_length=20, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField()
    text_input_tokens = models.IntegerField(default=0)
    image_input_tokens = models.IntegerField(default=0)
    text_output_tokens = models.IntegerField(default=0)
    image_output_tokens = models.IntegerField(default=0)
    images = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    # False when the price table has no price for this call: its cost shows as unknown, not as 0.
    priced = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "generation_api_calls"
        ordering = ["-created_at"]  # what the index on created_at serves, read backwards
        indexes = [
            # A task's spend (task page, exports, the running budget check before every call).
            models.Index(fields=["task", "created_at"], name="generation_api_calls_task"),
            # A user's spend in a month (monthly cap, `manage.py costs`, top users).
            models.Index(fields=["user", "created_at"], name="generation_api_calls_user"),
            # The dashboard's days, and the admin's newest first: with the id, the admin's order (created_at, id),
            # whose page keys an index-only scan reads.
            models.Index(fields=["created_at", "id"], name="generation_api_calls_day"),
            # The admin's list filtered by kind, newest first.
            models.Index(fields=["kind", "created_at", "id"], name="generation_api_calls_kind"),
            # A persona's spend (exports).
            models.Index(fields=["result"], name="generation_api_calls_result"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.model} {self.outcome}"


class TaskBudget(models.Model):
    """What a task was submitted with, in a table of our own: its cap (at most TASK_BUDGET_USD; NULL: no cap) and its
    estimate, which the monthly check at submit counts against the month while the task waits or runs. A task with
    no row (made before these were kept) has the cap TASK_BUDGET_USD."""

    task = models.OneToOneField(GenerationTask, on_delete=models.CASCADE, db_constraint=False, related_name="budget")
    cap_usd = models.DecimalField(max_digits=BUDGET_DIGITS, decimal_places=BUDGET_PLACES, null=True, blank=True,
                                  validators=[MinValueValidator(0)])  # fmt: skip
    estimate_usd = models.DecimalField(max_digits=BUDGET_DIGITS, decimal_places=BUDGET_PLACES, null=True, blank=True,
                                       validators=[MinValueValidator(0)])  # fmt: skip

    class Meta:
        db_table = "generation_task_budgets"
        constraints = [
            models.CheckConstraint(
                condition=Q(cap_usd__isnull=True) | Q(cap_usd__gte=0), name="generation_task_budgets_cap_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(estimate_usd__isnull=True) | Q(estimate_usd__gte=0),
                name="generation_task_budgets_estimate_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {'no cap' if self.cap_usd is None else f'{self.cap_usd} USD'}"


class UserBudget(models.Model):
    """A user's own monthly cap, over MONTHLY_BUDGET_USD (set in the admin): empty is no cap, 0 lets nothing be
    spent."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_constraint=False, related_name="budget"
    )
    monthly_usd = models.DecimalField(
        "monthly cap (USD)",
        max_digits=BUDGET_DIGITS,
        decimal_places=BUDGET_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(0, "A budget cannot be negative: enter 0 or more, or leave it empty.")],
        help_text="Empty: no cap. 0: nothing may be spent. Over MONTHLY_BUDGET_USD for this user.",
    )

    class Meta:
        db_table = "generation_user_budgets"
        verbose_name = "monthly budget"
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_usd__isnull=True) | Q(monthly_usd__gte=0),
                name="generation_user_budgets_not_negative",
                violation_error_message="A budget cannot be negative: enter 0 or more, or leave it empty.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {'no cap' if self.monthly_usd is None else f'{self.monthly_usd} USD a month'}"


class DailyUsage(models.Model):
    """What a user's work came to in a day: tasks submitted, personas and images made, API calls and their cost.
    Added to as things happen (one upsert each), so the dashboard reads 30 rows a user instead of a million calls.
    `user_key` is the user's primary key, 0 for calls made for no one (a unique key cannot hold NULL)."""

    day = models.DateField()
    user_key = models.IntegerField()
    tasks = models.IntegerField(default=0)
    personas = models.IntegerField(default=0)
    images = models.IntegerField(default=0)
    calls = models.IntegerField(default=0)
    failed_calls = models.IntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)

    class Meta:
        db_table = "generation_daily_usage"
        constraints = [models.UniqueConstraint(fields=["day", "user_key"], name="generation_daily_usage_once")]

    def __str__(self) -> str:
        return f"{self.day} user {self.user_key}"
