"""Costs where people look, and budgets that hold: the estimate, refusals at submit with the figures, the monthly
cap across tasks, the exports' costs, `manage.py costs`, `generate`'s question, the dashboard and the admin."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation.costs import budgets as costs
from generation.costs import calls, usage
from generation.models import ApiCall, GenerationTask, UserBudget
from generation.services import exports, submit_task
from testkit.factories import make_result, make_superuser, make_task, make_user
from testkit.prices import PRICES

pytestmark = pytest.mark.django_db


def spend(task: GenerationTask, amount: str, **fields) -> ApiCall:
    """A call recorded as the backend records one (calls.write: the row, and its owner's day)."""
    values = {"kind": "base", "model": "gpt-image-2", "outcome": "ok", "latency_ms": 900} | fields
    row = ApiCall(task=task, user=task.user, cost_usd=Decimal(amount), **values)
    calls.write([row])
    return row


def ask(user, **fields):
    values = {"persona_description": "Ferry captains on Lake Geneva", "bio_language": "French",
              "number_to_generate": 10, "images_per_persona": 4} | fields  # fmt: skip
    return submit_task(user=user, **values)


def test_the_estimate_comes_from_the_price_table_and_grows_with_the_task(priced):
    small, big = costs.estimate(10, 4), costs.estimate(100, 8)
    assert small.priced and small.usd > 0 and big.usd > 9 * small.usd
    assert small.calls == {"personas": 2, "base": 10, "grid": 10}
    # 1024x1024 at medium: 1,056 output tokens at $30 a million, plus the prompt and the reference image.
    one_base = Decimal(30) * 1056 / 1_000_000 + Decimal(5) * 300 / 1_000_000
    assert abs(
        costs.typical_cost("base", "gpt-image-2", costs._nominal_image("1024x1024", 0)).usd - one_base
    ) < Decimal("0.0001")


def test_the_estimate_follows_the_usage_recorded_here_once_there_is_some(priced):
    before = costs.estimate(10, 4).usd
    task = make_task()
    for _ in range(3):  # bases made at high quality here: 4,160 output tokens each
        spend(task, "0", kind="base", image_output_tokens=4160, text_input_tokens=100)
    typical = costs.typical_cost("base", "gpt-image-2", costs._nominal_image("1024x1024", 0)).usd
    assert typical == (Decimal(30) * 4160 + Decimal(5) * 100) / 1_000_000
    assert costs.estimate(10, 4).usd > before


def test_an_unpriced_model_gives_an_estimate_that_says_price_unknown(priced):
    priced.OPENAI_PRICES = "{}"
    priced.OPENAI_IMAGE_MODEL = "my-local-model"
    priced.OPENAI_TEXT_MODEL = "my-local-llm"
    guess = costs.estimate(5, 4)
    assert guess.usd == 0 and not guess.priced and guess.label == "price unknown"


def test_the_offline_generator_costs_nothing(settings):
    settings.GENERATION_BACKEND = "offline"
    assert costs.estimate(500, 20).usd == 0 and costs.estimate(500, 20).calls == {}


def test_a_task_over_its_budget_is_refused_at_submit_naming_the_figures(priced):
    priced.TASK_BUDGET_USD = 1
    user = make_user(is_staff=True)
    guess = costs.estimate(100, 8)
    with pytest.raises(ValidationError) as refused:
        ask(user, number_to_generate=100, images_per_persona=8)
    message = refused.value.message_dict["budget_usd"][0]
    assert f"${guess.usd:.2f}" in message and "over its budget of $1.00" in message
    assert not GenerationTask.objects.exists()
    with pytest.raises(ValidationError, match="at most \\$1.00 a task"):
        ask(user, number_to_generate=1, budget_usd="5")
    task = ask(user, number_to_generate=1, budget_usd="0.75")
    assert costs.task_cap(task.pk) == Decimal("0.75")


def test_the_form_shows_the_refusal_beside_the_budget_field(client, priced):
    priced.TASK_BUDGET_USD = 1
    user = make_user(is_staff=True)
    client.force_login(user)
    response = client.post(reverse("task_new"), {
        "persona_description": "Ferry captains", "bio_language": "French", "number_to_generate": "100",
        "images_per_persona": "8", "submission_token": "2f1c0e43-0c9a-4a0a-9d3e-1f7a9b5f4a11",
    })  # fmt: skip
    assert response.status_code == 200
    assert "over its budget of $1.00" in response.context["form"].errors["budget_usd"][0]
    assert not GenerationTask.objects.exists()


def test_the_monthly_cap_counts_across_tasks(priced):
    priced.TASK_BUDGET_USD = None
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=Decimal("1.00"))
    spend(make_task(user=user, status="completed"), "0.60")
    spend(make_task(user=user, status="completed"), "0.25")
    spend(make_task(user=make_user()), "9.00")  # someone else's
    last_month = spend(make_task(user=user, status="completed"), "5.00")
    ApiCall.objects.filter(pk=last_month.pk).update(created_at=costs.month_start() - timezone.timedelta(days=3))
    assert costs.month_spent(user.pk) == Decimal("0.85")
    with pytest.raises(ValidationError, match=r"only \$0.15 of your \$1.00 monthly budget is left"):
        ask(user, number_to_generate=10, images_per_persona=8)
    running = make_task(user=user, status="generating-images")
    costs.check_before_call(running.pk, user.pk)  # 0.85 of 1.00: the next call may go
    spend(make_task(user=user), "0.15")
    with pytest.raises(costs.BudgetReachedError, match=r"spent \$1.00 of \$1.00 this month"):
        costs.check_before_call(running.pk, user.pk)


def test_a_task_at_its_own_cap_makes_no_further_call(priced):
    priced.TASK_BUDGET_USD = 2
    task = make_task(status="generating-images")
    spend(task, "1.99")
    costs.check_before_call(task.pk, None)
    spend(task, "0.01")
    with pytest.raises(costs.BudgetReachedError, match=r"spent \$2.00 of its \$2.00 cap"):
        costs.check_before_call(task.pk, None)


def test_the_exports_carry_the_cost_of_the_task_and_of_each_persona(priced):
    task = make_task(status="completed")
    first, second = make_result(task), make_result(task)
    spend(task, "0.0100", kind="personas")  # the task's, no persona's
    spend(task, "0.2500", result=first)
    spend(task, "0.1250", result=first)
    document = json.loads("".join(exports.json_document(task)))
    assert document["task"]["cost_usd"] == 0.385
    assert [persona["cost_usd"] for persona in document["personas"]] == [0.375, 0.0]
    rows = list(csv.DictReader(io.StringIO("".join(exports.csv_rows(task)))))
    assert [row["cost_usd"] for row in rows] == ["0.3750", "0.0000"]
    assert second.pk


def test_the_costs_command_prints_a_month_per_user_and_per_model(priced):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    spend(make_task(user=alice), "1.25")
    spend(make_task(user=alice), "0.50", model="gpt-5.4-mini", kind="personas")
    spend(make_task(user=bob), "2.00")
    out = io.StringIO()
    call_command("costs", stdout=out)
    text = out.getvalue()
    assert "alice@example.com" in text and "gpt-5.4-mini" in text
    assert "1.7500" in text and "2.0000" in text and "3.7500" in text  # alice's total, bob's, everyone's
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("costs", "November")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_generate_asks_at_a_terminal_above_the_threshold_and_never_in_a_pipe(priced, monkeypatch):
    priced.CONFIRM_ABOVE_USD = 0.01
    make_superuser()
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    with pytest.raises(CommandError, match="Not submitted"):
        call_command("generate", "Ferry captains", "--count", "20", stdout=out)
    assert "Estimate: about $" in out.getvalue() and not GenerationTask.objects.exists()
    call_command("generate", "Ferry captains", "--count", "20", "--yes", stdout=io.StringIO())
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a pipe: never asked
    call_command("generate", "Ferry captains", "--count", "20", stdout=io.StringIO())
    assert GenerationTask.objects.count() == 2


def test_the_dashboard_shows_a_staff_user_their_own_and_a_superuser_everyones(client, priced):
    alice, bob = make_user("alice@example.com", is_staff=True), make_user("bob@example.com", is_staff=True)
    mine = make_task(user=alice, status="completed")
    make_result(mine)
    usage.add(alice.pk, tasks=1, personas=1, images=4)  # as submit and the stored photos add them
    spend(mine, "1.50")
    spend(mine, "0", outcome="retried", latency_ms=3000)
    spend(make_task(user=bob), "4.00")
    usage.add(bob.pk, tasks=1)
    client.force_login(alice)
    board = client.get(reverse("dashboard")).context["board"]
    assert [series.total for series in board.series] == [1, 4, 1, 1.5]  # personas, images, tasks, cost
    assert board.call_failure_rate == 0.5 and board.top_users == [("alice@example.com", Decimal("1.5"))]
    client.force_login(make_superuser())
    html = client.get(reverse("dashboard")).content.decode()
    assert "bob@example.com" in html and html.count("<svg") == 4 and "$5.50" in html


def test_the_dashboard_runs_the_same_queries_for_few_and_many_calls(client, priced):
    user = make_user(is_staff=True)
    client.force_login(user)
    task = make_task(user=user)
    spend(task, "1")
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dashboard"))
    calls.write([ApiCall(task=task, user=user, kind="grid", model="m", outcome="ok", latency_ms=n) for n in range(300)])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("dashboard"))
    assert len(many) == len(few)


def test_the_admin_lists_calls_with_filters_and_shows_the_prices_in_force(admin_client, priced):
    task = make_task()
    spend(task, "0.1234")
    spend(task, "0", priced=False, model="mystery")
    listing = admin_client.get(reverse("admin:generation_apicall_changelist"), {"task__id__exact": task.pk})
    assert listing.status_code == 200 and "0.1234" in listing.content.decode() and "unknown" in listing.content.decode()
    for query in ({"kind__exact": "base"}, {"outcome__exact": "ok"}, {"model": "mystery"}):
        assert admin_client.get(reverse("admin:generation_apicall_changelist"), query).status_code == 200
    prices_page = admin_client.get(reverse("admin:generation_apicall_prices")).content.decode()
    assert "gpt-image-2" in prices_page and "gpt-5.4-mini" in prices_page
    task_page = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk])).content.decode()
    assert f"?task__id__exact={task.pk}" in task_page
    assert admin_client.get(reverse("admin:generation_apicall_add")).status_code == 403


def test_the_daily_roll_up_counts_what_the_pipeline_did(settings, fake_openai, s3_bucket):
    """Through the pipeline (the loopback OpenAI server): the task, its personas and images, and its calls."""
    from generation.models import DailyUsage
    from generation.pipeline.stages import run_inline
    from tests.generation.helpers import submit

    settings.OPENAI_PRICES = json.dumps(PRICES)
    task = submit(number_to_generate=2, images_per_persona=4)
    run_inline(task)
    day = DailyUsage.objects.get(user_key=task.user_id)
    assert (day.tasks, day.personas, day.images, day.calls, day.failed_calls) == (1, 2, 8, 5, 0)
    assert day.cost_usd == sum(row.cost_usd for row in ApiCall.objects.filter(task=task))


def test_the_task_page_and_list_show_what_a_task_cost(client, priced):
    user = make_user(is_staff=True)
    client.force_login(user)
    task = make_task(user=user, number_to_generate=4, status="generating-images")
    make_result(task)
    make_result(task)
    spend(task, "0.30")
    spend(task, "0", priced=False, model="mystery")
    page = client.get(reverse("task_detail", args=[task.task_code]))
    cost = page.context["cost"]
    assert cost.spent == Decimal("0.30") and cost.per_persona == Decimal("0.1500") and cost.unpriced == 1
    assert cost.rest.usd == costs.estimate(2, 4).usd  # the two personas still without photos
    html = page.content.decode()
    assert "$0.30 (+ 1 call of unknown price)" in html and "of $100.00 cap" in html
    assert f"About ${cost.rest.usd:.2f}".lower() in html.lower()
    listing = client.get(reverse("task_list")).content.decode()
    assert "$0.30" in listing


def test_the_estimate_prices_a_persona_batch_by_its_answer_which_grows_with_the_photo_ideas(priced):
    few, many = costs.nominal_batch(4), costs.nominal_batch(20)
    assert many.text_output - few.text_output == 16 * costs.NOMINAL_IDEA_TOKENS * priced.PERSONAS_PER_BATCH
    cheaper = costs.typical_cost("personas", "gpt-5.4-mini", few).usd
    assert costs.typical_cost("personas", "gpt-5.4-mini", many).usd > cheaper > 0
