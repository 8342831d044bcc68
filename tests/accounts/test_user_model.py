import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.db import IntegrityError, connection
from django.test import RequestFactory

from accounts.forms import UserCreationForm
from accounts.models import User
from testkit.factories import make_user

pytestmark = pytest.mark.django_db


def authenticate(**credentials):
    """Sign-in as the login view does it: with the request, which django-axes needs."""
    return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def test_email_is_stored_trimmed_and_lower_cased():
    user = make_user("  Alice.Smith@Example.COM ")
    user.refresh_from_db()
    assert user.email == "alice.smith@example.com"


def test_the_same_email_in_another_case_cannot_be_stored_twice():
    make_user("bob@example.com")
    with pytest.raises(IntegrityError):
        make_user("BOB@Example.com")


def test_sign_in_uses_the_email_in_any_case():
    make_user("carol@example.com", password="a long enough secret")
    assert authenticate(username="Carol@EXAMPLE.com", password="a long enough secret") is not None
    assert authenticate(username="carol@example.com", password="wrong") is None


def test_an_inactive_user_cannot_sign_in():
    make_user("dave@example.com", password="a long enough secret", is_active=False)
    assert authenticate(username="dave@example.com", password="a long enough secret") is None


def test_the_password_hash_lives_in_the_password_hash_column():
    user = make_user(password="a long enough secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_hash FROM users WHERE id = %s", [user.pk])
        (stored,) = cursor.fetchone()
    assert stored == user.password and stored.startswith("pbkdf2_sha256$")


def test_a_new_user_is_active_and_not_staff_with_created_at_set():
    user = make_user()
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert user.created_at is not None and user.last_login is None


def test_create_superuser_makes_a_staff_superuser():
    user = User.objects.create_superuser("root@example.com", "a long enough secret")
    assert user.is_staff and user.is_superuser


def test_creation_form_rejects_an_email_that_differs_only_in_case():
    make_user("erin@example.com")
    form = UserCreationForm(
        data={"email": "ERIN@example.com", "password1": "a long enough secret", "password2": "a long enough secret"}
    )
    assert not form.is_valid()
    assert form.errors["email"] == ["A user with this email address already exists."]
