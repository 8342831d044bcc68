import pytest
from django.urls import reverse

from testkit.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough secret"


def sign_in(client, email, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def test_a_staff_user_signs_in_with_the_email_in_any_case_and_lands_on_the_task_list(client):
    make_user("Ops@Example.com", password=PASSWORD, is_staff=True)
    response = sign_in(client, "OPS@example.COM", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("task_list")
    assert client.get(reverse("task_list")).status_code == 200


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(client):
    make_user("ops@example.com", password=PASSWORD, is_staff=True)
    wrong_password = sign_in(client, "ops@example.com", "nope").content.decode()
    unknown_email = sign_in(client, "ghost@example.com", "nope").content.decode()
    message = "That email and password do not match an active account."
    assert message in wrong_password and message in unknown_email


def test_repeated_failures_lock_out_that_email_from_that_address_only(client, settings):
    make_user("ops@example.com", password=PASSWORD, is_staff=True)
    make_user("other@example.com", password=PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ops@example.com", "wrong")
    locked = sign_in(client, "ops@example.com", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Someone else behind the same address, and the same account from elsewhere, still get in.
    assert sign_in(client, "other@example.com", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "ops@example.com", PASSWORD, address="10.0.0.2").status_code == 302


def test_sign_out_is_a_post_and_ends_the_session(client):
    user = make_user(is_staff=True)
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("task_list")).status_code == 302


def test_the_sign_in_page_has_labelled_fields(client):
    html = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
