"""App pages and their partials are someone's own and change as tasks run: each says `Cache-Control: private,
no-cache`, so no shared cache keeps one and a browser asks again before showing a kept copy. Responses with a
header of their own (the admin's never_cache) keep it."""

import pytest

from testkit.factories import make_task, make_user

pytestmark = pytest.mark.django_db
PRIVATE = "private, no-cache"


@pytest.fixture
def operator(client):
    user = make_user(is_staff=True)
    client.force_login(user)
    return client, make_task(user, status="completed")


def test_the_app_pages_are_private_and_asked_for_again(operator):
    client, task = operator
    pages = ["/tasks/", "/dashboard/", "/tasks/new/", f"/tasks/{task.task_code}/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert response["Cache-Control"] == PRIVATE, page


def test_the_live_partials_are_private_and_asked_for_again(operator):
    client, task = operator
    for part in (f"/tasks/{task.task_code}/live/", f"/tasks/{task.task_code}/progress/"):
        response = client.get(part, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, part
        assert response["Cache-Control"] == PRIVATE, part


def test_redirects_and_error_pages_are_private_too(client):
    assert client.get("/tasks/")["Cache-Control"] == PRIVATE  # to the sign-in page
    client.force_login(make_user(is_staff=True))
    assert client.get("/tasks/nosuchtask/")["Cache-Control"] == PRIVATE


def test_the_admin_keeps_its_own_never_cache(admin_client):
    response = admin_client.get("/admin/")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
