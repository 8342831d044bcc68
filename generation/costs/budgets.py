"""What tasks cost: the estimate before one is submitted, what has been spent, and the caps that hold.

Spend is the sum of the recorded calls (generation_api_calls), so workers on several machines share one count as
they share the rate caps. Caps are checked before every try of every call: a task or a user that has reached a cap
makes no further call. What can go over is only what was already in flight when the cap was reached: at most one
call per running unit, or per grid of a unit (a unit asks for its grids in parallel), each at most the price of one
image call."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from generation.costs import plans, prices
from generation.imaging.grids import grid_layouts, grid_shape
from generation.models import ApiCall, FaceCheck, GenerationTask, TaskBudget, TaskRun, UserBudget

Kind = ApiCall.Kind
RECENT_CALLS = 200  # calls of a kind whose usage makes "typical"
RECENT_CHECKS = 2_000  # face checks whose replacements make the replacement rate
# Output tokens of one 1024x1024 image by quality, as OpenAI publishes them for its GPT Image models; used until
# this installation has recorded calls of its own. Text tokens: a guess per call, also replaced by measurement.
OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160}
NOMINAL_PROMPT_TOKENS = 300
NOMINAL_REFERENCE_TOKENS = 1_000
# A batch's prompt, and what it writes per persona (profile, look, interests, bios) before its photo ideas.
NOMINAL_CHAT = prices.Usage(text_input=2_000, text_output=650)
NOMINAL_IDEA_TOKENS = 30  # output tokens of one photo idea
SECONDS_PER_PERSONA = 20.0  # until tasks have run here


class BudgetReachedError(Exception):
    """A cap is reached: no further call for this task."""


@dataclass(frozen=True)
class Estimate:
    usd: Decimal
    priced: bool  # False when some call has no price: the figure then leaves those out
    seconds: float
    calls: dict[str, int]
    replacement_rate: float

    @property
    def time_label(self) -> str:
        seconds = self.seconds
        if seconds < 90:
            return f"{round(seconds)} s"
        return f"{round(seconds / 60)} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"

    @property
    def calls_label(self) -> str:
        return " · ".join(f"{count} × {Kind(kind).label.lower()}" for kind, count in self.calls.items())

    @property
    def label(self) -> str:
        if not self.calls:
            return "free: the offline generator makes no API call"
        if not self.priced and not self.usd:
            return "price unknown"
        return f"about ${self.usd:.2f}" + ("" if self.priced else " (some calls have no price)")


def usd(amount: Decimal | float | int | None) -> Decimal:
    return Decimal(str(amount or 0)).quantize(Decimal("0.01"))


def _nominal_image(size: str, references: int, quality: str | None = None) -> prices.Usage:
    """One image call of this pixel size ("WxH"; "auto" counts as 1024x1024) at the plan's quality (or the one
    given)."""
    width, _, height = size.partition("x")
    try:
        pixels = int(width) * int(height)
    except ValueError:
        pixels = 1024 * 1024
    quality = plans.current().quality if quality is None else quality
    tokens = OUTPUT_TOKENS_1024.get(quality, OUTPUT_TOKENS_1024["medium"])
    return prices.Usage(
        text_input=NOMINAL_PROMPT_TOKENS,
        image_input=NOMINAL_REFERENCE_TOKENS * references,
        image_output=round(tokens * pixels / (1024 * 1024)),
        images=1,
    )


def typical_cost(kind: str, model: str, nominal: prices.Usage, quality: str | None = None) -> prices.Price:
    """The cost of one call of this kind: its recent calls' average usage at today's prices, else the nominal. Image
    calls are priced at the plan's quality (or the one given)."""
    recent = ApiCall.objects.filter(kind=kind, model=model, outcome=ApiCall.Outcome.OK).order_by("-created_at")
    ids = list(recent.values_list("id", flat=True)[:RECENT_CALLS])
    usage = nominal
    if ids:
        means = ApiCall.objects.filter(id__in=ids).aggregate(
            text_input=Avg("text_input_tokens"), image_input=Avg("image_input_tokens"),
            text_output=Avg("text_output_tokens"), image_output=Avg("image_output_tokens"), images=Avg("images"),
        )  # fmt: skip
        usage = prices.Usage(**{name: round(value or 0) for name, value in means.items()})
    if kind in (Kind.PERSONAS, Kind.BIOS, Kind.IDEAS):
        quality = ""
    elif quality is None:
        quality = plans.current().quality
    return prices.cost(model, usage, quality=quality)


def replacement_rate() -> float:
    """The share of tiles the face checks replaced, over the recent checks (0 before any)."""
    ids = list(FaceCheck.objects.filter(position__gt=0).order_by("-id").values_list("id", flat=True)[:RECENT_CHECKS])
    if not ids:
        return 0.0
    counts = FaceCheck.objects.filter(id__in=ids).aggregate(all=Count("id"), replaced=Count("id", Q(replaced__gt=0)))
    return counts["replaced"] / counts["all"]


def seconds_per_persona() -> float:
    recent = list(
        GenerationTask.objects.filter(status__exact=GenerationTask.Status.COMPLETED)
        .order_by("-id")
        .values_list("id", "number_to_generate")[:20]
    )
    if not recent:
        return SECONDS_PER_PERSONA
    runs = TaskRun.objects.filter(task_id__in=[pk for pk, _ in recent], ended_at__isnull=False)
    seconds = sum((run.ended_at - run.started_at).total_seconds() for run in runs.only("started_at", "ended_at"))
    personas = sum(count for _, count in recent)
    return seconds / personas if seconds and personas else SECONDS_PER_PERSONA


def nominal_batch(images_per_persona: int) -> prices.Usage:
    """A persona batch's usage before any was recorded here: each persona's answer grows with its photo ideas."""
    per_persona = NOMINAL_CHAT.text_output + NOMINAL_IDEA_TOKENS * images_per_persona
    return prices.Usage(text_input=NOMINAL_CHAT.text_input, text_output=per_persona * settings.PERSONAS_PER_BATCH)


def estimate(number: int, images_per_persona: int) -> Estimate:
    """What a task of this size should cost and take, from the price table, the usage of recent calls and the
    face checks' replacement rate."""

    plan = plans.current()
    if not plan.paid:  # the offline generator calls nothing
        return Estimate(Decimal("0.00"), True, seconds_per_persona() * number, {}, 0.0)
    batches = math.ceil(number / settings.PERSONAS_PER_BATCH)
    layouts = grid_layouts(images_per_persona)
    rate = replacement_rate() if settings.FACE_CHECK else 0.0
    chat = nominal_batch(images_per_persona)
    square, quality = plan.size("square"), plan.quality
    parts = [
        (Kind.PERSONAS, batches, plan.text_model, chat),
        (Kind.BASE, number, plan.image_model, _nominal_image(square, 0, quality)),
    ]
    for layout in layouts:
        parts.append((Kind.GRID, number, plan.image_model, _nominal_image(plan.size(grid_shape(layout)), 1, quality)))
    replacements = round(number * images_per_persona * rate)
    parts.append((Kind.REPLACEMENT, replacements, plan.image_model, _nominal_image(square, 2, quality)))
    total, priced, counted = Decimal(0), True, {}
    for kind, count, model, nominal in parts:
        if not count:
            continue
        counted[kind] = counted.get(kind, 0) + count
        price = typical_cost(kind, model, nominal, quality)
        total += price.usd * count
        priced = priced and price.known
    return Estimate(usd(total), priced, seconds_per_persona() * number, counted, rate)


# --- Spend and caps --------------------------------------------------------------------------------------------


def month_start(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def task_spent(task_pk: int) -> Decimal:
    return ApiCall.objects.filter(task_id=task_pk).aggregate(total=Sum("cost_usd"))["total"] or Decimal(0)


def month_spent(user_pk: int, now: datetime | None = None) -> Decimal:
    spent = ApiCall.objects.filter(user_id=user_pk, created_at__gte=month_start(now)).aggregate(total=Sum("cost_usd"))
    return spent["total"] or Decimal(0)


def task_ceiling() -> Decimal | None:
    """The most a task may be given (None: no cap): TASK_BUDGET_USD, which settings already made a Decimal."""
    return settings.TASK_BUDGET_USD


def task_cap(task_pk: int) -> Decimal | None:
    """The cap the task was submitted with (None: no cap); TASK_BUDGET_USD for a task with no budget row."""
    own = TaskBudget.objects.filter(task_id=task_pk).values_list("cap_usd", flat=True)
    return own[0] if own else task_ceiling()


def monthly_cap(user_pk: int) -> Decimal | None:
    """The user's own monthly cap (None: no cap), else MONTHLY_BUDGET_USD."""
    own = UserBudget.objects.filter(user_id=user_pk).values_list("monthly_usd", flat=True)
    return own[0] if own else settings.MONTHLY_BUDGET_USD


def check_before_call(task_pk: int | None, user_pk: int | None) -> None:
    """Raise BudgetReachedError when this task or its owner has spent its cap: the next call is not made."""
    checks = []
    if task_pk is not None:
        checks.append((task_cap, task_spent, task_pk, "Stopped by its budget: the task has spent ${spent:.2f} of its "
                       "${cap:.2f} cap."))  # fmt: skip
    if user_pk is not None:
        checks.append((monthly_cap, month_spent, user_pk, "Stopped by the monthly budget: its owner has spent "
                       "${spent:.2f} of ${cap:.2f} this month."))  # fmt: skip
    for cap_of, spent_of, pk, message in checks:
        cap = cap_of(pk)
        if cap is not None and (spent := spent_of(pk)) >= cap:
            raise BudgetReachedError(message.format(spent=spent, cap=cap))


def reserved_for_open_tasks(user_pk: int) -> tuple[Decimal, int]:
    """What the user's waiting and running tasks are still expected to spend (each one's estimate at submit, less
    what it has spent, never below 0), and how many such tasks there are. A task with no estimate kept is estimated
    now."""
    open_tasks = GenerationTask.objects.filter(user_id=user_pk, status__in=GenerationTask.OPEN_STATUSES)
    tasks = list(open_tasks.values_list("pk", "number_to_generate", "images_per_persona", "budget__estimate_usd"))
    if not tasks:
        return Decimal(0), 0
    spent = dict(
        ApiCall.objects.filter(task_id__in=[pk for pk, *_ in tasks])
        .values_list("task_id")
        .annotate(total=Sum("cost_usd"))
        .values_list("task_id", "total")
    )
    total = Decimal(0)
    for pk, number, images, kept in tasks:
        expected = kept if kept is not None else estimate(number, images).usd
        total += max(Decimal(0), Decimal(expected) - (spent.get(pk) or Decimal(0)))
    return usd(total), len(tasks)


def check_at_submit(user_pk: int, cap: Decimal | None, guess: Estimate) -> str | None:
    """Why a task of this estimate may not start, with the figures; None when it may. A cap of 0 lets no paid call
    be made (the offline generator makes none, so its tasks pass); the month counts what the user's waiting and
    running tasks are still expected to spend."""
    if cap == 0 and guess.calls:
        return "This task's budget is $0.00, so it may make no API call. Set a budget above $0 to run it."
    if cap is not None and guess.usd > cap:
        return (
            f"This task is estimated at ${guess.usd:.2f}, over its budget of ${cap:.2f}. "
            "Ask for fewer personas or images, or a higher budget."
        )
    monthly = monthly_cap(user_pk)
    if monthly is None:
        return None
    if monthly == 0 and guess.calls:
        return (
            "Your monthly budget is $0.00, so your tasks may make no API call. Ask an administrator to raise the "
            "budget."
        )
    waiting, count = reserved_for_open_tasks(user_pk)
    left = max(Decimal(0), monthly - month_spent(user_pk) - waiting)
    if guess.usd > left:
        held = (
            f", after the ${waiting:.2f} your {count} waiting or running task{'s' if count != 1 else ''} "
            f"{'are' if count != 1 else 'is'} still expected to spend"
            if count
            else ""
        )
        return (
            f"This task is estimated at ${guess.usd:.2f}, but only ${left:.2f} of your ${monthly:.2f} monthly "
            f"budget is left{held}. Ask for fewer personas or images, wait for your tasks to end, or ask an "
            "administrator to raise the budget."
        )
    return None


@dataclass(frozen=True)
class TaskCost:
    spent: Decimal
    calls: int
    unpriced: int  # calls with no price: the figure leaves them out
    per_persona: Decimal | None
    rest: Estimate | None  # for the personas still without photos, while the task runs
    cap: Decimal | None

    @property
    def label(self) -> str:
        if self.calls and self.unpriced == self.calls:
            return "price unknown"
        figure = f"${self.spent:.2f}"
        return figure + (
            f" (+ {self.unpriced} call{'s' if self.unpriced != 1 else ''} of unknown price)" if self.unpriced else ""
        )


def task_cost(task: GenerationTask, with_images: int) -> TaskCost:
    """What the task has spent (one query over its calls), per persona with photos, and what the rest should cost."""
    totals = ApiCall.objects.filter(task=task).aggregate(
        spent=Sum("cost_usd"), calls=Count("id"), unpriced=Count("id", filter=Q(priced=False))
    )
    spent = totals["spent"] or Decimal(0)
    rest = None
    remaining = max(0, task.number_to_generate - with_images)
    if not task.is_finished:  # asked for even when nothing remains, so the page's queries do not vary with it
        rest = estimate(remaining, task.images_per_persona)
        rest = rest if remaining else None
    return TaskCost(
        spent=spent,
        calls=totals["calls"],
        unpriced=totals["unpriced"],
        per_persona=(spent / with_images).quantize(Decimal("0.0001")) if with_images else None,
        rest=rest,
        cap=task_cap(task.pk),
    )


@dataclass(frozen=True)
class ReportLine:
    user: str
    model: str
    calls: int
    cost: Decimal


@dataclass(frozen=True)
class MonthReport:
    start: datetime
    end: datetime
    lines: list[ReportLine]
    per_user: dict[str, Decimal]
    total: Decimal
    calls: int
    unpriced: int


def month_report(start: datetime) -> MonthReport:
    """A month's calls per user and model (one grouped query over the user/date index)."""
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    rows = (
        ApiCall.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("user__email", "model")
        .annotate(calls=Count("id"), cost=Sum("cost_usd"), unpriced=Count("id", filter=Q(priced=False)))
        .order_by("user__email", "model")
    )
    lines, per_user, unpriced = [], {}, 0
    for row in rows:
        user = row["user__email"] or "(no user)"
        line = ReportLine(user, row["model"], row["calls"], row["cost"] or Decimal(0))
        lines.append(line)
        per_user[user] = per_user.get(user, Decimal(0)) + line.cost
        unpriced += row["unpriced"]
    return MonthReport(start, end, lines, per_user, sum(per_user.values(), Decimal(0)),
                       sum(line.calls for line in lines), unpriced)  # fmt: skip
