"""The task list's pages: a deep page shows the right tasks with their figures, counted for that page's tasks alone,
and a page number that is not one answers a page, never a 500."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generation.models import GenerationTask
from testkit.factories import make_result, make_task
from tests.conftest import requires_postgresql

pytestmark = pytest.mark.django_db
PER_PAGE = 25


def tasks_of(user, count: int) -> list[GenerationTask]:
    """`count` tasks, oldest first; task i has i % 3 personas, the first of them with photos."""
    tasks = [make_task(user=user, number_to_generate=3) for _ in range(count)]
    for n, task in enumerate(tasks):
        for made in range(n % 3):
            make_result(task, images=None if made else ["https://cdn.example.com/a.jpg"])
    return tasks


def test_a_deep_page_shows_the_right_tasks_newest_first_with_their_progress(client, staff):
    tasks = tasks_of(staff, 60)
    make_task()  # someone else's, never listed

    page = client.get(reverse("task_list"), {"page": 3}).context["page"]

    oldest = tasks[:10]
    assert (page.number, page.paginator.num_pages, page.paginator.count) == (3, 3, 60)
    assert [task.pk for task in page.object_list] == [task.pk for task in reversed(oldest)]
    figures = {task.pk: (task.personas_with_data, task.personas_done) for task in page.object_list}
    assert figures == {task.pk: (n % 3, min(1, n % 3)) for n, task in enumerate(oldest)}
    assert page.has_previous() and not page.has_next()


def test_a_deep_page_of_a_status_filter_pages_over_that_status_only(client, staff):
    failed = [make_task(user=staff, status="failed") for _ in range(30)]
    tasks_of(staff, 5)
    page = client.get(reverse("task_list"), {"status": "failed", "page": 2}).context["page"]
    assert [task.pk for task in page.object_list] == [task.pk for task in reversed(failed[:5])]


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("abc", 1),
        ("", 1),
        ("2.5", 1),
        ("1e3", 1),
        ("inf", 1),
        ("NaN", 1),
        ("٣", 3),  # a digit all the same, as Python's int() reads it
        ("9" * 5000, 1),  # more digits than int() takes
        ("0", 3),
        ("-1", 3),
        ("4", 3),
        ("99999999999999999999999", 3),
    ],
)
def test_a_page_number_that_is_not_one_answers_the_first_or_last_page(client, staff, value, number):
    tasks_of(staff, 60)
    response = client.get(reverse("task_list"), {"page": value})
    assert response.status_code == 200
    assert response.context["page"].number == number
    assert len(response.context["page"].object_list) == (10 if number == 3 else PER_PAGE)


def test_an_empty_list_answers_its_one_empty_page_whatever_the_number(client, staff):
    response = client.get(reverse("task_list"), {"page": "800"})
    assert response.status_code == 200 and "No tasks" in response.content.decode()


@requires_postgresql
def test_a_deep_page_counts_the_progress_of_its_own_tasks_only(client, staff):
    """At page 800 of 20,000 tasks the progress subqueries ran for the 19,975 tasks before the page too (PostgreSQL
    evaluates the select list of every row an OFFSET skips): 1.5 s. Counted per listed task, a deep page costs what
    the first does."""
    tasks_of(staff, 60)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("task_list"), {"page": 3})
    figures = [query["sql"] for query in queries.captured_queries if "generation_results" in query["sql"]]
    assert len(figures) == 1
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + figures[0])
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    loops = []

    def walk(node: dict) -> None:
        if node.get("Subplan Name") or node.get("Parent Relationship") == "SubPlan":
            loops.append(node["Actual Loops"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert loops and max(loops) <= 10
