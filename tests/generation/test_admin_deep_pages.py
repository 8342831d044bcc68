"""A deep page of an admin list costs what the first one does: its OFFSET skips over primary keys alone (not over
rows whose progress counts are computed for each row skipped), and the pages offered stop DEEPEST_ROW rows in, where
an OFFSET over a million rows would read them all."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generation import admin as generation_admin
from generation.cost_admin import ApiCallAdmin
from generation.models import ApiCall, GenerationTask
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db

TASKS = "/admin/generation/generationtask/"


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 2 tasks, of which the first 3 pages are offered."""
    monkeypatch.setattr(generation_admin.GenerationTaskAdmin, "list_per_page", 2)
    monkeypatch.setattr(generation_admin, "DEEPEST_ROW", 6, raising=False)


def test_a_deep_task_page_skips_over_keys_and_computes_progress_for_its_own_rows_only(admin_client, small_pages):
    tasks = [make_task() for _ in range(6)]
    make_result(tasks[1])
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(TASKS, {"p": 3})
    listed = page.context["cl"].result_list
    assert [(task.pk, task.personas_with_data) for task in listed] == [(tasks[1].pk, 1), (tasks[0].pk, 0)]
    skipping = [q["sql"] for q in queries if "OFFSET" in q["sql"]]
    assert skipping, [q["sql"] for q in queries]
    assert all("generation_results" not in sql for sql in skipping), skipping


def test_the_pages_offered_stop_at_the_deepest_row_and_a_deeper_one_redirects(admin_client, small_pages):
    for _ in range(9):
        make_task()
    last = admin_client.get(TASKS, {"p": 3})
    assert last.status_code == 200 and len(last.context["cl"].result_list) == 2
    assert last.context["cl"].paginator.num_pages == 3
    assert last.context["cl"].result_count == GenerationTask.objects.count()  # the count stays the true one
    deeper = admin_client.get(TASKS, {"p": 4})
    assert deeper.status_code == 302 and deeper.url == f"{TASKS}?e=1"


PAGED = {
    "tasks": (generation_admin.GenerationTaskAdmin, "/admin/generation/generationtask/"),
    "results": (generation_admin.GenerationResultAdmin, "/admin/generation/generationresult/"),
    "API calls": (ApiCallAdmin, "/admin/generation/apicall/"),
}


@pytest.mark.parametrize("name", PAGED)
def test_a_page_read_by_its_keys_makes_as_many_queries_for_5_rows_as_for_2(admin_client, monkeypatch, name):
    model_admin, url = PAGED[name]
    for _ in range(10):
        task = make_task()
        result = make_result(task)
        ApiCall.objects.create(task=task, result=result, user=task.user, kind="base", model="gpt-image-1",
                               outcome="ok", latency_ms=900)  # fmt: skip
    counts = []
    for per_page in (2, 5):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        admin_client.get(url, {"p": 2})
        with CaptureQueriesContext(connection) as queries:
            assert len(admin_client.get(url, {"p": 2}).context["cl"].result_list) == per_page
        counts.append(len(queries))
    assert counts[0] == counts[1]
