"""A deep page of an admin list costs what the first one does: its OFFSET skips over primary keys alone (not over
rows whose progress counts are computed for each row skipped), and the pages offered stop DEEPEST_ROW rows in, where
an OFFSET over a million rows would read them all."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation import admin as generation_admin
from generation.admin import base as admin_base
from generation.admin.costs import ApiCallAdmin
from generation.models import ApiCall, FaceCheck, GenerationTask, ImageCredential, PipelineUnit
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db

TASKS = "/admin/generation/generationtask/"


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 2 tasks, of which the first 3 pages are offered."""
    monkeypatch.setattr(generation_admin.GenerationTaskAdmin, "list_per_page", 2)
    monkeypatch.setattr(admin_base, "DEEPEST_ROW", 6, raising=False)


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


def paged_admins() -> dict[str, tuple[type, str]]:
    """Every admin whose list is paged by EstimatedCountPaginator, by model name, with its list's URL."""
    admins = {
        model: admin.site.get_model_admin(model) for model in apps.get_models() if admin.site.is_registered(model)
    }
    return {
        model._meta.model_name: (type(model_admin), f"/admin/{model._meta.app_label}/{model._meta.model_name}/")
        for model, model_admin in admins.items()
        if issubclass(model_admin.paginator, generation_admin.EstimatedCountPaginator)
    }


def rows_of_every_list(count: int) -> None:
    """`count` rows of each model whose admin list is paged: tasks, results, units, API calls, checks, credentials."""
    now = timezone.now()
    for n in range(count):
        task = make_task()
        result = make_result(task)
        unit = PipelineUnit.objects.create(task=task, kind=PipelineUnit.Kind.PERSONA_IMAGES, number=1, result=result)
        ApiCall.objects.create(task=task, unit=unit, result=result, user=task.user, kind="base", model="gpt-image-1",
                               outcome="ok", latency_ms=900)  # fmt: skip
        FaceCheck.objects.create(result=result, position=0, verdict=FaceCheck.Verdict.OK, faces=1)
        ImageCredential.objects.create(task=task, result=result, key=f"avatars/{task.task_code}/{n}.png",
                                       sha256="0" * 64, size=1, verdict=ImageCredential.Verdict.VERIFIED,
                                       signed_at=now, checked_at=now, checked_by="storing")  # fmt: skip


def deep_page_queries(client, monkeypatch, model_admin: type, url: str, per_page: int) -> int:
    monkeypatch.setattr(model_admin, "list_per_page", per_page)
    client.get(url, {"p": 2})
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get(url, {"p": 2}).context["cl"].result_list) == per_page
    return len(queries)


def test_every_paged_admin_reads_a_deep_page_in_as_many_queries_for_5_rows_as_for_2(admin_client, monkeypatch):
    paged = paged_admins()
    assert {"generationtask", "generationresult", "pipelineunit", "apicall", "imagecredential"} <= set(paged)
    rows_of_every_list(10)
    for name, (model_admin, url) in paged.items():
        counts = [deep_page_queries(admin_client, monkeypatch, model_admin, url, per_page) for per_page in (2, 5)]
        assert counts[0] == counts[1], name


def test_a_paged_admin_left_to_djangos_default_joins_its_listed_foreign_keys_on_deep_pages(admin_client, monkeypatch):
    """list_select_related False: Django joins the foreign keys list_display shows (the face checks' result), and so
    do the pages read by their keys."""
    monkeypatch.setattr(generation_admin.FaceCheckAdmin, "paginator", generation_admin.EstimatedCountPaginator)
    monkeypatch.setattr(generation_admin.FaceCheckAdmin, "list_select_related", False)
    rows_of_every_list(10)
    model_admin, url = generation_admin.FaceCheckAdmin, "/admin/generation/facecheck/"
    counts = [deep_page_queries(admin_client, monkeypatch, model_admin, url, per_page) for per_page in (2, 5)]
    assert counts[0] == counts[1]
