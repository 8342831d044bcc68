"""The staff web app, server side: access rules, forms, lists, the task page and its actions."""

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generation.models import GenerationTask, PipelineUnit
from testkit.factories import make_result, make_superuser, make_task, make_user

pytestmark = pytest.mark.django_db

TASK_PAGES = ["task_detail", "task_live", "task_progress", "export_csv", "export_json", "export_zip",
              "export_zip_status", "task_delete"]  # fmt: skip
TASK_ACTIONS = ["task_retry", "task_cancel", "task_delete"]


def new_task_data(**fields):
    return {
        "persona_description": "Baristas in Melbourne who surf before work",
        "bio_language": "English",
        "number_to_generate": "6",
        "images_per_persona": "4",
        "submission_token": str(uuid.uuid4()),
    } | fields


@pytest.mark.parametrize("name", ["task_list", "task_new", "home"])
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", TASK_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_from_task_pages(client, name):
    task = make_task()
    response = client.get(reverse(name, args=[task.task_code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_signed_in_non_staff_user_gets_a_clear_403(client):
    client.force_login(make_user("visitor@example.com"))
    response = client.get(reverse("task_list"))
    assert response.status_code == 403
    assert "This app is for staff accounts" in response.content.decode()
    assert "visitor@example.com" in response.content.decode()


@pytest.mark.parametrize("name", TASK_PAGES)
def test_another_users_task_is_a_404_on_every_page(client, staff, name):
    task = make_task(user=make_user())
    assert client.get(reverse(name, args=[task.task_code])).status_code == 404


@pytest.mark.parametrize("name", TASK_ACTIONS)
def test_another_users_task_is_a_404_for_every_action(client, staff, name):
    task = make_task(user=make_user())
    assert client.post(reverse(name, args=[task.task_code])).status_code == 404
    assert GenerationTask.objects.filter(pk=task.pk).exists()


def test_a_superuser_sees_everyones_tasks_with_their_owner(client):
    owner = make_user("owner@example.com", is_staff=True)
    task = make_task(user=owner)
    client.force_login(make_superuser())
    listing = client.get(reverse("task_list")).content.decode()
    assert task.task_code in listing and 'title="owner@example.com"' in listing
    assert client.get(reverse("task_detail", args=[task.task_code])).status_code == 200


def test_the_task_list_shows_only_my_tasks_newest_first(client, staff):
    older, newer = make_task(user=staff), make_task(user=staff)
    someone_elses = make_task()
    page = client.get(reverse("task_list")).context["page"]
    assert [t.pk for t in page.object_list] == [newer.pk, older.pk]
    assert someone_elses.pk not in [t.pk for t in page.object_list]


def test_the_task_list_filters_by_status_and_paginates(client, staff):
    for _ in range(27):
        make_task(user=staff)
    failed = make_task(user=staff, status="failed")
    assert [t.pk for t in client.get(reverse("task_list"), {"status": "failed"}).context["page"]] == [failed.pk]
    second = client.get(reverse("task_list"), {"page": 2}).context["page"]
    assert second.number == 2 and len(second.object_list) == 3


def test_the_task_list_runs_the_same_number_of_queries_for_1_and_25_tasks(client, staff):
    task = make_task(user=staff)
    make_result(task)
    client.get(reverse("task_list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("task_list"))
    for _ in range(24):
        make_result(make_task(user=staff))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("task_list"))
    assert len(response.context["page"].object_list) == 25
    assert len(many) == len(one)


def test_the_task_page_runs_the_same_number_of_queries_for_1_and_24_personas(client, staff):
    task = make_task(user=staff, number_to_generate=24)
    make_result(task)
    url = reverse("task_detail", args=[task.task_code])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(23):
        make_result(task, gender="m")
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert html.count('class="persona card"') == 24
    assert len(many) == len(one)


def test_the_new_task_form_preselects_my_last_language(client, staff):
    make_task(user=staff, bio_language="Japanese")
    form = client.get(reverse("task_new")).context["form"]
    assert form.initial["bio_language"] == "Japanese"


def test_submitting_the_form_creates_a_task_and_opens_its_page(client, staff):
    response = client.post(reverse("task_new"), new_task_data())
    task = GenerationTask.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("task_detail", args=[task.task_code])
    assert (task.user, task.number_to_generate, task.images_per_persona) == (staff, 6, 4)


def test_the_form_says_plainly_that_no_task_starts_while_images_cannot_be_signed(client, staff, settings, tmp_path):
    from generation.integrations import provenance

    settings.C2PA_SIGNING_CERT = str(tmp_path / "renewed-elsewhere.pem")
    provenance._credentials.cache_clear()
    try:
        response = client.post(reverse("task_new"), new_task_data())
    finally:
        provenance._credentials.cache_clear()
    assert response.status_code == 200
    assert "No task can start, because its images could not be signed" in response.content.decode()
    assert not GenerationTask.objects.exists()


def test_submitting_the_same_form_twice_makes_one_task(client, staff):
    data = new_task_data()
    first = client.post(reverse("task_new"), data)
    second = client.post(reverse("task_new"), data)
    assert GenerationTask.objects.count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("persona_description", "", "This field is required."),
        ("number_to_generate", "0", "Choose at least 1 persona."),
        ("number_to_generate", "501", "Choose a number of personas from 1 to 500."),
        ("number_to_generate", "many", "Enter a whole number."),
        ("images_per_persona", "6", "Select a valid choice. 6 is not one of the available choices."),
        ("bio_language", "Klingon", "Select a valid choice. Klingon is not one of the available choices."),
    ],
)
def test_form_errors_appear_beside_their_field_and_keep_the_values(client, staff, field, value, message):
    data = new_task_data(**{field: value})
    response = client.post(reverse("task_new"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    assert "Baristas in Melbourne" in html or field == "persona_description"
    assert GenerationTask.objects.count() == 0


def test_csrf_is_enforced_on_the_new_task_form():
    user = make_user(is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("task_new"), new_task_data()).status_code == 403
    assert GenerationTask.objects.count() == 0


def test_the_progress_endpoint_reports_counts_and_state(client, staff):
    task = make_task(user=staff, number_to_generate=3, status="generating-images")
    make_result(task)
    make_result(task, images=None)
    data = client.get(reverse("task_progress", args=[task.task_code])).json()
    assert data | {"duration": "x"} == {
        "duration_label": "Running for",
        "women": 2,
        "men": 0,
        "status": "generating-images",
        "status_label": "Generating images",
        "asked": 3,
        "with_data": 2,
        "with_images": 1,
        "failed_units": 0,
        "finished": False,
        "duration": "x",
    }


def test_the_task_page_explains_failures_in_plain_words_with_the_detail_below(client, staff):
    task = make_task(user=staff, number_to_generate=3, status="completed", error_log="images of X failed")
    make_result(task, gender="f")
    result = make_result(task, gender="m", images=None)
    PipelineUnit.objects.create(task=task, kind="images", number=result.pk, result=result, state="failed",
                                note="The API failed (500)")  # fmt: skip
    html = client.get(reverse("task_detail", args=[task.task_code])).content.decode()
    assert "1 / 1" in html  # women / men
    assert "Completed — 1 of 3" in html and "Generate the missing 2" in html
    assert "The OpenAI service was busy or unreachable" in html and "Affected: the photos of a persona" in html
    assert "1× The API failed (500)" in html  # the technical detail, collapsed


def test_retry_is_refused_for_a_running_task_with_a_clear_message(client, staff):
    task = make_task(user=staff, status="generating-data")
    response = client.post(reverse("task_retry", args=[task.task_code]), follow=True)
    assert "is still running" in response.content.decode()


def test_cancel_ends_a_running_task_cancelled_with_who_cancelled_it(client, staff):
    task = make_task(user=staff, status="generating-images")
    PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5)
    client.post(reverse("task_cancel", args=[task.task_code]))
    task.refresh_from_db()
    assert task.status == "cancelled" and "Cancelled by staff@example.com" in task.error_log
    assert task.units.get().state == "failed"


def test_actions_need_a_post(client, staff):
    task = make_task(user=staff, status="failed")
    assert client.get(reverse("task_retry", args=[task.task_code])).status_code == 405
    assert client.get(reverse("task_cancel", args=[task.task_code])).status_code == 405


def test_delete_asks_first_then_removes_the_task_its_results_and_their_files(client, staff, settings):
    task = make_task(user=staff)
    make_result(task)
    folder = settings.MEDIA_ROOT / "avatars" / task.task_code / "1"
    folder.mkdir(parents=True)
    (folder / "base.png").write_bytes(b"png")
    confirm = client.get(reverse("task_delete", args=[task.task_code]))
    assert "cannot be undone" in confirm.content.decode()
    response = client.post(reverse("task_delete", args=[task.task_code]), follow=True)
    assert "with its personas and 1 file(s)" in response.content.decode()
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    assert not (folder / "base.png").exists()
