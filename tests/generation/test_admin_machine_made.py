"""Tasks, results, units and face checks are made by the pipeline: the admin offers no Add, shows them read-only,
and changes them only through its actions."""

import pytest
from django.urls import reverse

from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db

MACHINE_MADE = [GenerationTask, GenerationResult, PipelineUnit, FaceCheck]


def admin_url(model, view, *args):
    return reverse(f"admin:generation_{model._meta.model_name}_{view}", args=args)


def make_row(model):
    task = make_task(status="failed", error_log="batch 1: the model refused the prompt (3 tries)")
    result = make_result(task)
    if model is GenerationTask:
        return task
    if model is GenerationResult:
        return result
    if model is PipelineUnit:
        return PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5, state="failed", note="boom")
    return FaceCheck.objects.create(result=result, position=1, image_url=result.images[0], faces=1, verdict="ok")


@pytest.mark.parametrize("model", MACHINE_MADE, ids=lambda m: m.__name__)
def test_machine_made_lists_offer_no_add_button_and_the_add_page_is_refused(admin_client, model):
    make_row(model)
    listing = admin_client.get(admin_url(model, "changelist"))
    assert listing.status_code == 200
    assert not listing.context["has_add_permission"]
    assert admin_url(model, "add") not in listing.content.decode()
    assert admin_client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", MACHINE_MADE, ids=lambda m: m.__name__)
def test_machine_made_change_pages_are_views_with_no_form_field_and_no_delete(admin_client, model):
    row = make_row(model)
    page = admin_client.get(admin_url(model, "change", row.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    assert "<textarea" not in html and 'name="_save"' not in html
    assert admin_url(model, "delete", row.pk) not in html
    assert admin_client.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_a_finished_tasks_status_counts_and_error_log_cannot_be_posted_over(admin_client):
    task = make_task(status="failed", error_log="batch 1: the model refused the prompt (3 tries)")
    page = admin_client.get(admin_url(GenerationTask, "change", task.pk)).content.decode()
    assert "batch 1: the model refused the prompt (3 tries)" in page  # shown as text
    for field in ("status", "error_log", "number_to_generate", "persona_description", "user"):
        assert f'name="{field}"' not in page
    response = admin_client.post(
        admin_url(GenerationTask, "change", task.pk),
        {"status": "completed", "error_log": "", "number_to_generate": 1, "persona_description": "x"},
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert (task.status, task.number_to_generate) == ("failed", 10)
    assert task.error_log.startswith("batch 1")


@pytest.mark.parametrize("model", MACHINE_MADE, ids=lambda m: m.__name__)
def test_django_delete_selected_is_not_offered_on_machine_made_lists(admin_client, model):
    make_row(model)
    form = admin_client.get(admin_url(model, "changelist")).context["action_form"]  # None: no action at all
    assert form is None or "delete_selected" not in str(form.fields["action"].choices)


def test_the_cancel_action_still_works_and_the_task_ends_cancelled(admin_client):
    task = make_task(status="generating-data")
    response = admin_client.post(
        admin_url(GenerationTask, "changelist"), {"action": "cancel_tasks", "_selected_action": [task.pk]}, follow=True
    )
    assert f"Cancelled 1 task(s): {task.task_code}." in response.content.decode()
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_the_generate_missing_action_plans_batches_for_a_task_that_came_out_short(admin_client):
    task = make_task(status="completed", number_to_generate=3)
    make_result(task)
    response = admin_client.post(
        admin_url(GenerationTask, "changelist"),
        {"action": "generate_missing", "_selected_action": [task.pk]},
        follow=True,
    )
    assert f"Generating the missing personas of 1 task(s): {task.task_code}." in response.content.decode()
    task.refresh_from_db()
    assert task.status == "generating-data"
    assert sum(task.units.filter(kind="batch").values_list("size", flat=True)) == 2


def test_the_delete_tasks_action_removes_the_task_its_personas_and_their_files(admin_client, settings):
    task = make_task(status="completed")
    result = make_result(task)
    folder = settings.MEDIA_ROOT / "avatars" / task.task_code / str(result.pk)
    folder.mkdir(parents=True)
    (folder / "base.png").write_bytes(b"png")
    keep = make_task(status="completed")
    response = admin_client.post(
        admin_url(GenerationTask, "changelist"), {"action": "delete_tasks", "_selected_action": [task.pk]}, follow=True
    )
    assert f"Deleted 1 task(s): {task.task_code}." in response.content.decode()
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    assert not GenerationResult.objects.filter(pk=result.pk).exists()
    assert not (folder / "base.png").exists()
    assert GenerationTask.objects.filter(pk=keep.pk).exists()
