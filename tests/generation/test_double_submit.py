"""One form, one task: the submission token is claimed in the database, so posting a form again, even six times at
the same moment, opens the task the first post made."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from generation import services
from generation.models import GenerationTask, TaskSubmission
from testkit.factories import make_user
from tests.conftest import requires_postgresql
from tests.generation.helpers import at_the_same_moment

FORM = {
    "persona_description": "Baristas in Melbourne who surf before work",
    "bio_language": "English",
    "number_to_generate": "6",
    "images_per_persona": "4",
}


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_six_posts_of_one_form_at_the_same_moment_make_one_task_and_all_open_it():
    user = make_user("staff@example.com", is_staff=True)
    signed_in = Client()
    signed_in.force_login(user)
    data = FORM | {"submission_token": str(uuid.uuid4())}
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def post() -> None:
        client = Client()  # one browser, one session: a double click, or a reload, six times over
        client.cookies[settings.SESSION_COOKIE_NAME] = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
        try:
            response = client.post(reverse("task_new"), data)
            answers.append((response.status_code, response.get("Location", "")))
        except BaseException as error:  # the test client raises what a view raised: a 500
            errors.append(error)

    at_the_same_moment(post)

    assert not errors, errors
    task = GenerationTask.objects.get()
    page = reverse("task_detail", args=[task.task_code])
    assert answers == [(302, page)] * 6
    assert signed_in.get(page).status_code == 200
    assert TaskSubmission.objects.get().task == task


@pytest.mark.django_db
def test_the_same_token_from_another_user_is_another_form():
    token = uuid.uuid4()
    first = services.submit_task(user=make_user(is_staff=True), submission_token=token, **FORM)
    second = services.submit_task(user=make_user(is_staff=True), submission_token=token, **FORM)
    assert first != second and GenerationTask.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_submit_leaves_its_token_free_for_the_corrected_form():
    user = make_user(is_staff=True)
    token = uuid.uuid4()
    with pytest.raises(ValidationError):
        services.submit_task(user=user, submission_token=token, **FORM | {"number_to_generate": "0"})
    assert not TaskSubmission.objects.exists()
    task = services.submit_task(user=user, submission_token=token, **FORM)
    assert TaskSubmission.objects.get().task == task


@pytest.mark.django_db
def test_a_form_posted_again_after_its_task_was_deleted_makes_a_new_task():
    user = make_user(is_staff=True)
    token = uuid.uuid4()
    services.delete_task(services.submit_task(user=user, submission_token=token, **FORM))
    again = services.submit_task(user=user, submission_token=token, **FORM)
    assert GenerationTask.objects.get() == again
