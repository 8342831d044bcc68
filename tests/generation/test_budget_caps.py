"""Budgets mean what they say: empty is no cap, 0 lets nothing be spent, a negative one is refused wherever it can
be set; the month counts what waiting and running tasks are still expected to spend; and one person has at most
MAX_OPEN_TASKS_PER_USER tasks open at once."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from generation.costs import budgets as costs
from generation.costs import calls
from generation.models import ApiCall, GenerationTask, TaskBudget, UserBudget
from generation.pipeline import lifecycle
from generation.services import submit_task
from testkit.factories import make_superuser, make_task, make_user

pytestmark = pytest.mark.django_db


def ask(user, **fields) -> GenerationTask:
    values = {"persona_description": "Ferry captains on Lake Geneva", "bio_language": "French",
              "number_to_generate": 10, "images_per_persona": 4} | fields  # fmt: skip
    return submit_task(user=user, **values)


def spend(task: GenerationTask, amount: str) -> None:
    calls.write([ApiCall(task=task, user=task.user, kind="base", model="gpt-image-2", outcome="ok", latency_ms=900,
                         cost_usd=Decimal(amount))])  # fmt: skip


def refusal(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Negative budgets are refused everywhere -----------------------------------------------------------------------


def test_a_negative_task_budget_is_refused_by_the_service_and_the_form(client, settings):
    user = make_user(is_staff=True)
    with pytest.raises(ValidationError, match="The budget cannot be negative"):
        ask(user, budget_usd="-5")
    client.force_login(user)
    response = client.post(reverse("task_new"), {
        "persona_description": "Ferry captains", "bio_language": "French", "number_to_generate": "1",
        "images_per_persona": "4", "budget_usd": "-5", "submission_token": "2f1c0e43-0c9a-4a0a-9d3e-1f7a9b5f4a11",
    })  # fmt: skip
    assert response.status_code == 200
    assert "The budget cannot be negative" in response.context["form"].errors["budget_usd"][0]
    assert not GenerationTask.objects.exists()


def test_generate_refuses_a_negative_budget_with_a_clear_message(settings):
    settings.GENERATION_BACKEND = "offline"
    make_superuser()
    with pytest.raises(CommandError, match="The budget cannot be negative"):
        call_command("generate", "Ferry captains", "--count", "1", "--budget=-1", stdout=io.StringIO())
    assert not GenerationTask.objects.exists()


def test_the_admin_refuses_a_negative_monthly_budget_and_takes_empty_as_no_cap(client):
    client.force_login(make_superuser())
    owner = make_user()
    add = reverse("admin:generation_userbudget_add")
    response = client.post(add, {"user": owner.pk, "monthly_usd": "-10"})
    assert response.status_code == 200
    assert "A budget cannot be negative" in response.content.decode()
    assert not UserBudget.objects.exists()
    response = client.post(add, {"user": owner.pk, "monthly_usd": ""})
    assert response.status_code == 302
    assert UserBudget.objects.get(user=owner).monthly_usd is None
    listing = client.get(reverse("admin:generation_userbudget_changelist")).content.decode()
    assert "no cap" in listing
    assert costs.monthly_cap(owner.pk) is None


# --- With no task cap, a budget is still at most what its column holds -----------------------------------------------

TOO_BIG = "1000000000000"  # 1e12: over numeric(10, 2), which holds 99,999,999.99 at most


def test_with_no_task_cap_the_form_refuses_a_budget_too_large_to_store_with_a_field_message(client, settings):
    settings.GENERATION_BACKEND = "offline"
    settings.TASK_BUDGET_USD = None
    client.force_login(make_user(is_staff=True))
    form = {"persona_description": "Ferry captains", "bio_language": "French", "number_to_generate": "1",
            "images_per_persona": "4", "submission_token": "2f1c0e43-0c9a-4a0a-9d3e-1f7a9b5f4a12"}  # fmt: skip
    for amount in (TOO_BIG, "1e12", "100000000"):
        response = client.post(reverse("task_new"), form | {"budget_usd": amount})
        assert response.status_code == 200
        assert response.context["form"].errors["budget_usd"] == ["The budget can be at most $99,999,999.99 a task."]
    assert not GenerationTask.objects.exists()
    response = client.post(reverse("task_new"), form | {"budget_usd": "99999999.99"})
    assert response.status_code == 302
    assert TaskBudget.objects.get().cap_usd == Decimal("99999999.99")


def test_with_no_task_cap_the_service_and_generate_refuse_a_budget_too_large_to_store(settings):
    settings.GENERATION_BACKEND = "offline"
    settings.TASK_BUDGET_USD = None
    user = make_superuser()
    for amount in (TOO_BIG, Decimal("1e12"), 1e12, "1E+30"):
        with pytest.raises(ValidationError, match=re.escape("The budget can be at most $99,999,999.99 a task.")):
            ask(user, budget_usd=amount)
    with pytest.raises(CommandError, match=re.escape("The budget can be at most $99,999,999.99 a task.")):
        call_command("generate", "Ferry captains", "--count", "1", f"--budget={TOO_BIG}", stdout=io.StringIO())
    assert not GenerationTask.objects.exists()


def test_the_admin_refuses_a_monthly_budget_too_large_to_store_with_a_field_message(client):
    client.force_login(make_superuser())
    owner = make_user()
    response = client.post(reverse("admin:generation_userbudget_add"), {"user": owner.pk, "monthly_usd": TOO_BIG})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["monthly_usd"]
    assert not UserBudget.objects.exists()


def test_the_database_refuses_a_negative_stored_budget():
    task = make_task()
    with pytest.raises(IntegrityError), transaction.atomic():
        UserBudget.objects.create(user=task.user, monthly_usd=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskBudget.objects.create(task=task, cap_usd=Decimal("-1"))


# --- Empty is no cap, 0 lets nothing be spent ----------------------------------------------------------------------


def test_an_empty_monthly_budget_is_no_cap_where_a_negative_one_used_to_be(priced):
    priced.MONTHLY_BUDGET_USD = Decimal("1.00")
    priced.TASK_BUDGET_USD = None
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=None)
    task = ask(user, number_to_generate=100, images_per_persona=8)  # far over $1.00
    assert costs.monthly_cap(user.pk) is None and costs.task_cap(task.pk) is None


def test_a_monthly_budget_of_0_refuses_paid_work_at_submit_and_lets_no_call_go(priced):
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=Decimal("0"))
    with pytest.raises(ValidationError) as refused:
        ask(user, number_to_generate=1)
    assert "Your monthly budget is $0.00, so your tasks may make no API call" in refusal(refused.value)
    assert not GenerationTask.objects.exists()
    running = make_task(user=user, status="generating-images")
    with pytest.raises(costs.BudgetReachedError, match=r"spent \$0.00 of \$0.00 this month"):
        costs.check_before_call(running.pk, user.pk)


def test_a_task_budget_of_0_refuses_paid_work_at_submit(priced):
    user = make_user(is_staff=True)
    with pytest.raises(ValidationError) as refused:
        ask(user, number_to_generate=1, budget_usd="0")
    assert "This task's budget is $0.00, so it may make no API call" in refusal(refused.value)
    priced.TASK_BUDGET_USD = Decimal("0")  # the setting too
    with pytest.raises(ValidationError, match=r"budget is \$0.00"):
        ask(user, number_to_generate=1)
    assert not GenerationTask.objects.exists()


def test_a_budget_of_0_lets_the_offline_generator_run_since_it_spends_nothing(settings):
    settings.GENERATION_BACKEND = "offline"
    settings.TASK_BUDGET_USD = Decimal("0")
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=Decimal("0"))
    task = ask(user, number_to_generate=1, budget_usd="0")
    assert costs.task_cap(task.pk) == 0


def test_a_task_keeps_the_cap_and_estimate_it_was_submitted_with(priced):
    priced.TASK_BUDGET_USD = Decimal("50")
    task = ask(make_user(is_staff=True), number_to_generate=2)
    budget = TaskBudget.objects.get(task=task)
    assert budget.cap_usd == Decimal("50.00")
    assert budget.estimate_usd == costs.estimate(2, 4).usd > 0


# --- The month counts the tasks still waiting or running -------------------------------------------------------


def test_with_134_left_a_second_task_over_what_the_first_leaves_is_refused(priced):
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=Decimal("2.00"))
    spend(make_task(user=user, status="completed"), "0.66")
    guess = costs.estimate(20, 4).usd
    assert guess < Decimal("1.34") < 2 * guess  # one fits in what is left, two do not
    first = ask(user, number_to_generate=20)
    assert first.status == GenerationTask.Status.PENDING
    with pytest.raises(ValidationError) as refused:
        ask(user, number_to_generate=20)
    left = Decimal("1.34") - guess
    message = refusal(refused.value)
    assert f"only ${left:.2f} of your $2.00 monthly budget is left" in message
    assert f"after the ${guess:.2f} your 1 waiting or running task is still expected to spend" in message
    assert GenerationTask.objects.filter(user=user).count() == 2  # the completed one and the first


def test_what_a_running_task_has_spent_is_not_counted_twice(priced):
    user = make_user(is_staff=True)
    UserBudget.objects.create(user=user, monthly_usd=Decimal("2.00"))
    spend(make_task(user=user, status="completed"), "0.66")
    guess = costs.estimate(20, 4).usd
    first = ask(user, number_to_generate=20)
    spend(first, "0.30")  # part of its estimate: in the month's spend now, no longer expected
    assert costs.reserved_for_open_tasks(user.pk) == (guess - Decimal("0.30"), 1)
    with pytest.raises(ValidationError, match=re.escape(f"only ${Decimal('1.34') - guess:.2f} of your")):
        ask(user, number_to_generate=20)
    lifecycle.fail(first.pk, "stopped by hand")  # ended: nothing more is expected of it
    assert costs.reserved_for_open_tasks(user.pk) == (Decimal(0), 0)
    ask(user, number_to_generate=10)


# --- At most MAX_OPEN_TASKS_PER_USER tasks open at once ---------------------------------------------------------


def test_the_eleventh_open_task_is_refused_until_one_ends(settings, client):
    settings.GENERATION_BACKEND = "offline"
    assert settings.MAX_OPEN_TASKS_PER_USER == 10
    user, other = make_user(is_staff=True), make_user(is_staff=True)
    tasks = [ask(user, number_to_generate=1) for _ in range(10)]
    with pytest.raises(ValidationError) as refused:
        ask(user, number_to_generate=1)
    assert "You have 10 tasks waiting or running, the most one person may have at once" in refusal(refused.value)
    ask(other, number_to_generate=1)  # the cap is each person's own
    client.force_login(user)
    response = client.post(reverse("task_new"), {
        "persona_description": "Ferry captains", "bio_language": "French", "number_to_generate": "1",
        "images_per_persona": "4", "submission_token": "2f1c0e43-0c9a-4a0a-9d3e-1f7a9b5f4a11",
    })  # fmt: skip
    assert response.status_code == 200
    assert "MAX_OPEN_TASKS_PER_USER is 10" in " ".join(response.context["form"].non_field_errors())
    lifecycle.cancel(tasks[0], by=user)
    ask(user, number_to_generate=1)
    assert GenerationTask.objects.filter(user=user, status__in=GenerationTask.OPEN_STATUSES).count() == 10
