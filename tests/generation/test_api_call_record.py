"""The record of API calls: one row per try, with the usage the loopback server reported and its cost, through
the real `openai` client; costs add up to the cent; retries are rows of their own; a killed worker's calls stay."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Sum

from generation.costs import prices
from generation.models import ApiCall, PipelineUnit
from generation.pipeline.stages import run_inline
from testkit.prices import PRICES
from testkit.servers import wait_until
from tests.conftest import requires_postgresql
from tests.generation.helpers import submit
from tests.generation.test_pipeline_workers import kill_mid_images

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def hand_computed(usage_sent: list[dict]) -> Decimal:
    """The cost of what the server reported, added up here in plain arithmetic."""
    total = Decimal(0)
    for usage in usage_sent:
        if "prompt_tokens" in usage:
            total += Decimal("0.40") * usage["prompt_tokens"] + Decimal("1.60") * usage["completion_tokens"]
        else:
            details = usage["input_tokens_details"]
            total += Decimal(5) * details["text_tokens"] + Decimal(8) * details["image_tokens"]
            total += Decimal(30) * usage["output_tokens"]
    return total / 1_000_000


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def test_a_tasks_recorded_cost_equals_the_hand_computed_sum_to_the_cent(fake_openai, s3_bucket, settings):
    settings.OPENAI_PRICES = json.dumps(PRICES)
    task = submit(number_to_generate=3, images_per_persona=8)
    run_inline(task)
    task.refresh_from_db()
    assert task.status == "completed"
    recorded = ApiCall.objects.filter(task=task)
    assert recorded.count() == len(fake_openai.usage_sent) == 1 + 3 + 6  # a batch, 3 bases, 2 grids each
    total = recorded.aggregate(total=Sum("cost_usd"))["total"]
    assert total > Decimal("0.05")
    assert cents(total) == cents(hand_computed(fake_openai.usage_sent))
    assert abs(total - hand_computed(fake_openai.usage_sent)) < Decimal("0.000001")
    kinds = dict(recorded.values_list("kind").annotate(n=Sum(1)).values_list("kind", "n"))
    assert kinds == {"personas": 1, "base": 3, "grid": 6}
    grid = recorded.filter(kind="grid").first()
    assert grid.image_input_tokens == 1_040 and grid.text_input_tokens > 0 and grid.image_output_tokens > 0
    assert grid.result_id is not None and grid.unit.kind == "images" and grid.user_id == task.user_id
    assert all(row.priced and row.outcome == "ok" and row.http_status == 200 for row in recorded)


def test_a_model_without_a_price_costs_nothing_and_says_the_price_is_unknown(fake_openai, s3_bucket, settings):
    settings.OPENAI_PRICES = json.dumps({"gpt-image-2": PRICES["gpt-image-2"]})  # the text model is not priced
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    chat = ApiCall.objects.get(task=task, kind="personas")
    assert chat.cost_usd == 0 and chat.priced is False
    assert all(row.priced for row in ApiCall.objects.filter(task=task).exclude(kind="personas"))


def test_each_try_of_a_retried_call_is_a_row_of_its_own(fake_openai, s3_bucket, settings):
    settings.OPENAI_PRICES = json.dumps(PRICES)
    settings.OPENAI_MAX_RETRIES = 3
    settings.OPENAI_IMAGE_TIMEOUT = 1
    fake_openai.fail_next("/images/generations", 500)
    fake_openai.fail_next("/images/generations", 429, retry_after=0)
    fake_openai.delay_next("/images/generations", 3)  # longer than the timeout
    task = submit(number_to_generate=1, images_per_persona=4)
    run_inline(task)
    base_calls = list(ApiCall.objects.filter(task=task, kind="base").order_by("created_at", "id"))
    # The server holds a delayed request before it answers with a queued fault: the timeout comes first.
    assert [(row.outcome, row.http_status) for row in base_calls] == [
        ("retried", None),
        ("retried", 500),
        ("retried", 429),
        ("ok", 200),
    ]
    assert [row.cost_usd > 0 for row in base_calls] == [False, False, False, True]
    assert base_calls[0].latency_ms >= 1000


@pytest.mark.parametrize(
    "table",
    [
        {"m": {"per_million": {"text_input": "cheap"}}},
        {"m": {"per_million": {"text_input": -1}}},
        {"m": {"per_million": {"audio_input": 1}}},
        {"m": "1.0"},
        ["not", "an", "object"],
    ],
)
def test_a_price_table_that_makes_no_sense_is_a_clear_configuration_error(settings, table):
    settings.OPENAI_PRICES = json.dumps(table)
    with pytest.raises(ImproperlyConfigured, match="OPENAI_PRICES"):
        prices.table()


def test_the_calls_of_a_killed_worker_stay_recorded_after_its_units_run_again(start_cluster, fake_openai, s3_bucket):
    fake_openai.image_latency = 0.5
    prices_env = {"OPENAI_PRICES": json.dumps(PRICES)}
    cluster = start_cluster(**prices_env)
    task = submit(number_to_generate=4, images_per_persona=4)
    held = kill_mid_images(cluster, task)
    before = set(ApiCall.objects.filter(task=task).values_list("pk", flat=True))
    assert before
    start_cluster(**prices_env)
    wait_until(lambda: task.__class__.objects.get(pk=task.pk).is_finished, timeout=120, message="the task to end")
    after = set(ApiCall.objects.filter(task=task).values_list("pk", flat=True))
    assert before <= after and len(after) > len(before)
    for unit in held:
        # A unit killed after both its calls (base and grid) were answered and recorded may have stored everything
        # and need no call again; any other makes calls of its own in the re-run, recorded beside the first ones.
        if ApiCall.objects.filter(unit=unit, pk__in=before, outcome="ok").count() < 2:
            assert ApiCall.objects.filter(unit=unit, pk__in=after - before).exists()  # the re-run's own calls
    answered = len(fake_openai.usage_sent)
    # Only a call the kill cut off between the server's answer and its row can be missing: one per held unit.
    assert answered - len(held) <= ApiCall.objects.filter(task=task, outcome="ok").count() <= answered
    assert PipelineUnit.objects.filter(task=task, state="done").count() == task.units.count()


def test_a_task_stops_at_its_cap_within_the_stated_bound_with_several_workers(
    start_cluster, fake_openai, s3_bucket, settings
):
    """Each image call costs about $0.03 here; the cap is reached after a few personas. The bound (costs.py): at
    most one call in flight per worker when the cap is reached, each at most the dearest call."""
    workers = 4
    cap = Decimal("0.20")
    fake_openai.image_latency = 0.3
    settings.OPENAI_PRICES = json.dumps(PRICES)
    start_cluster(OPENAI_PRICES=json.dumps(PRICES), Q_WORKERS=str(workers), TASK_BUDGET_USD="10")
    # Earlier calls here were cheap (small images), so the estimate passes the cap; these cost more, as happens.
    cheap = {"model": "gpt-image-2", "outcome": "ok", "latency_ms": 1, "image_output_tokens": 50}
    ApiCall.objects.bulk_create([ApiCall(kind=kind, **cheap) for kind in ("base", "grid")])
    task = submit(number_to_generate=12, images_per_persona=4, budget_usd=str(cap))
    wait_until(lambda: task.__class__.objects.get(pk=task.pk).is_finished, timeout=120, message="the task to end")
    task.refresh_from_db()
    spent = ApiCall.objects.filter(task=task).aggregate(total=Sum("cost_usd"))["total"]
    dearest = ApiCall.objects.filter(task=task).order_by("-cost_usd").first().cost_usd
    assert spent >= cap  # it did reach its cap…
    assert spent <= cap + workers * dearest  # …and went over by no more than the calls in flight
    assert task.status == "completed"  # with what it has
    assert 0 < task.results.filter(images__isnull=False).count() < 12
    assert "Stopped by its budget" in task.error_log
    assert task.units.filter(state="failed", note__startswith="Stopped by its budget").exists()
