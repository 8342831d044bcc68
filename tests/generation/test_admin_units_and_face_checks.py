"""Units are named by their task's code and link to it; face checks list their persona and task."""

import pytest
from django.urls import reverse

from generation.models import FaceCheck, PipelineUnit
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db


def test_a_unit_is_named_by_its_task_code_kind_and_number(admin_client):
    task = make_task()
    unit = PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5)
    assert str(unit) == f"{task.task_code} · batch 1"
    html = admin_client.get(reverse("admin:generation_pipelineunit_changelist")).content.decode()
    assert f"{task.task_code} · batch 1" in html
    assert f"{task.pk}:batch:1" not in html


def test_a_units_task_is_a_link_in_the_list_and_on_its_page(admin_client):
    task = make_task()
    unit = PipelineUnit.objects.create(task=task, kind="images", number=7, state="failed", note="boom")
    task_admin = reverse("admin:generation_generationtask_change", args=[task.pk])
    listing = admin_client.get(reverse("admin:generation_pipelineunit_changelist")).content.decode()
    assert f'<a href="{task_admin}">{task.task_code}</a>' in listing
    page = admin_client.get(reverse("admin:generation_pipelineunit_change", args=[unit.pk])).content.decode()
    assert f'<a href="{task_admin}">{task.task_code}</a>' in page
    assert f"{task.task_code} · images 7" in page


def test_the_face_check_action_still_asks_for_a_new_photo(admin_client):
    task = make_task(status="completed")
    result = make_result(task)
    check = FaceCheck.objects.create(
        result=result, position=2, image_url=result.images[1], faces=2, verdict="several-faces"
    )
    response = admin_client.post(
        reverse("admin:generation_facecheck_changelist"),
        {"action": "regenerate_photo", "_selected_action": [check.pk]},
        follow=True,
    )
    assert "New photo asked for 1 photo(s)" in response.content.decode()
    assert list(task.units.values_list("kind", "target")) == [("image", 2)]
