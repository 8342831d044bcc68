"""Every machine-made list, searched or not, costs the same number of queries for 1 row as for 20: the columns
read what the list's own query selected (list_select_related, annotations), never a query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generation.models import FaceCheck, ImageCredential, PipelineUnit
from testkit.factories import make_result, make_task, make_user

pytestmark = pytest.mark.django_db


def add_rows(count: int) -> None:
    """`count` tasks of different owners, each with a result named Rousseau, a unit, a face check and the Content
    Credentials of its base image."""
    for n in range(count):
        task = make_task(user=make_user(), persona_description=f"Surfers from Biarritz, group {n}")
        result = make_result(task, lastname="Rousseau")
        PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5, state="done")
        FaceCheck.objects.create(result=result, position=0, image_url=result.base_image_url, faces=1, verdict="ok")
        ImageCredential.objects.create(
            task=task, result=result, key=f"avatars/{task.task_code}/{result.pk}/base.png", sha256="0" * 64,
            size=400_000, manifest_label=f"urn:c2pa:{n}", signer="Avatar Data Generator", verdict="verified",
            signed_at=timezone.now(), checked_at=timezone.now(), checked_by="storing",
        )  # fmt: skip


PAGES = {
    "tasks": ("/admin/generation/generationtask/", {}),
    "tasks, search": ("/admin/generation/generationtask/", {"q": "biarritz"}),
    "tasks, status filter": ("/admin/generation/generationtask/", {"status__exact": "pending"}),
    "results": ("/admin/generation/generationresult/", {}),
    "results, name search": ("/admin/generation/generationresult/", {"q": "Rousseau"}),
    "units": ("/admin/generation/pipelineunit/", {}),
    "face checks": ("/admin/generation/facecheck/", {}),
    "content credentials": ("/admin/generation/imagecredential/", {}),
    "content credentials, key search": ("/admin/generation/imagecredential/", {"q": "avatars/"}),
    "content credentials, verdict filter": ("/admin/generation/imagecredential/", {"verdict__exact": "verified"}),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_machine_made_list_makes_as_many_queries_for_20_rows_as_for_1(admin_client, page):
    url, params = PAGES[page]
    add_rows(1)
    admin_client.get(url, params)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one_row:
        assert len(admin_client.get(url, params).context["cl"].result_list) == 1
    add_rows(19)
    with CaptureQueriesContext(connection) as twenty_rows:
        assert len(admin_client.get(url, params).context["cl"].result_list) == 20
    assert len(twenty_rows) == len(one_row), [q["sql"] for q in twenty_rows]


def test_the_results_list_stays_within_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    add_rows(20)
    admin_client.get("/admin/generation/generationresult/")
    # session, user, the estimate (EXPLAIN, PostgreSQL only), the count and the page: nothing per row.
    with django_assert_max_num_queries(6):
        admin_client.get("/admin/generation/generationresult/", {"q": "Rousseau"})
