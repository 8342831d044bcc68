"""The record of API calls: who a call is for, and one row per try with its usage and cost.

The pipeline says whose work it is doing (`on_behalf_of(unit)`, a context variable, so threads started with
`contextvars.copy_context()` carry it); the OpenAI backend records each try as it ends. Nothing here is inside a
unit's transaction: a try that was paid for stays recorded whatever becomes of its unit."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError

from generation.costs import budgets as costs
from generation.costs import prices, usage
from generation.models import ApiCall, PipelineUnit

log = logging.getLogger("generation.costs.calls")


@dataclass(frozen=True)
class Owner:
    task_pk: int | None
    unit_pk: int | None
    result_id: int | None
    user_pk: int | None
    unit_kind: str = ""


current: contextvars.ContextVar[Owner | None] = contextvars.ContextVar("api_call_owner", default=None)
# Set in the image pool's threads, which never touch the database: their rows wait here for the unit's thread.
holding: contextvars.ContextVar[list[ApiCall] | None] = contextvars.ContextVar("api_calls_held", default=None)


@dataclass
class Held:
    """What a pool thread's work came to, with the rows of the calls it made."""

    value: object
    rows: list[ApiCall]
    error: BaseException | None = None


def hold(work: Callable, *args) -> Held:
    """Run `work` (in a pool thread, under contextvars.copy_context()) holding its call rows instead of writing
    them; never raises: the error comes back in the Held."""
    rows: list[ApiCall] = []
    token = holding.set(rows)
    try:
        return Held(work(*args), rows)
    except Exception as error:
        return Held(None, rows, error)
    finally:
        holding.reset(token)


def settle(held: Held):
    """In the unit's thread: write the held rows (the calls were paid whatever came of them), then the value."""
    write(held.rows)
    if held.error is not None:
        raise held.error
    return held.value


def write(rows: list[ApiCall]) -> None:
    """The rows, and their calls and cost added to their owner's day (the dashboard's roll-up)."""
    if not rows:
        return
    try:
        ApiCall.objects.bulk_create(rows)
        per_user: dict[int | None, list[ApiCall]] = {}
        for row in rows:
            per_user.setdefault(row.user_id, []).append(row)
        for user_pk, own in per_user.items():
            usage.add(
                user_pk,
                calls=len(own),
                failed_calls=sum(row.outcome != ApiCall.Outcome.OK for row in own),
                cost_usd=sum((row.cost_usd for row in own), Decimal(0)),
            )
    except DatabaseError:
        log.exception("could not record %s API call(s)", len(rows))


@contextmanager
def on_behalf_of(unit: PipelineUnit) -> Iterator[None]:
    token = current.set(Owner(unit.task_id, unit.pk, unit.result_id, unit.task.user_id, unit.kind))
    try:
        yield
    finally:
        current.reset(token)


def before_try() -> None:
    """Before each try of a call: refused (costs.BudgetReachedError) once the task or its owner reached a cap. In
    the image pool's threads, which never touch the database, the unit's thread checked before it asked for its
    grids."""
    owner = current.get()
    if owner is None or holding.get() is not None:
        return
    costs.check_before_call(owner.task_pk, owner.user_pk)


def chat_kind() -> str:
    owner = current.get()
    return ApiCall.Kind.BIOS if owner and owner.unit_kind == PipelineUnit.Kind.BIOS else ApiCall.Kind.PERSONAS


def record(
    *,
    kind: str,
    model: str,
    outcome: str,
    seconds: float,
    usage: prices.Usage,
    http_status: int | None = None,
    size: str = "",
    quality: str = "",
) -> ApiCall | None:
    """Write one try (or hold it, in a pool thread). A database that does not answer loses this row, not the unit:
    the failure is logged."""
    owner = current.get() or Owner(None, None, None, None)
    price = prices.cost(model, usage, quality=quality)
    row = ApiCall(
        task_id=owner.task_pk,
        unit_id=owner.unit_pk,
        result_id=owner.result_id,
        user_id=owner.user_pk,
        kind=kind,
        model=model,
        size=size,
        quality=quality,
        outcome=outcome,
        http_status=http_status,
        latency_ms=round(seconds * 1000),
        text_input_tokens=usage.text_input,
        image_input_tokens=usage.image_input,
        text_output_tokens=usage.text_output,
        image_output_tokens=usage.image_output,
        images=usage.images,
        cost_usd=price.usd,
        priced=price.known,
    )
    rows = holding.get()
    if rows is not None:
        rows.append(row)
        return row
    write([row])
    return row


def usage_of(answer) -> prices.Usage:
    """The usage block of a chat or image answer, text and image tokens apart; zeros where it has none."""
    usage = getattr(answer, "usage", None)
    images = len(getattr(answer, "data", None) or [])
    if usage is None:
        return prices.Usage(images=images)
    if hasattr(usage, "prompt_tokens"):  # chat completions
        return prices.Usage(text_input=usage.prompt_tokens or 0, text_output=usage.completion_tokens or 0)
    details = getattr(usage, "input_tokens_details", None)
    text_in = getattr(details, "text_tokens", None) if details else None
    image_in = getattr(details, "image_tokens", None) if details else None
    if text_in is None and image_in is None:
        text_in = usage.input_tokens or 0
    output_details = getattr(usage, "output_tokens_details", None)
    text_out = (getattr(output_details, "text_tokens", 0) or 0) if output_details else 0
    return prices.Usage(
        text_input=text_in or 0,
        image_input=image_in or 0,
        text_output=text_out,
        image_output=(usage.output_tokens or 0) - text_out,
        images=images,
    )
