"""`manage.py ensure_superuser` runs Django's email and password validation and exits non-zero with the message,
changing nothing, instead of making an account anyone could guess into."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def ensure(*args: str) -> str:
    out = io.StringIO()
    call_command("ensure_superuser", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "ops@example.com", "--password", "1"], "This password is too short"),
        (["--email", "ops@example.com", "--password", "password123"], "This password is too common"),
        (["--email", "ops@example.com", "--password", "ops@example.com"], "too similar to the email"),
        (["--email", ""], "'' is not an email address."),
        (["--email", "not an email <script>"], "is not an email address."),
    ],
)
def test_a_weak_password_or_a_bad_email_is_refused_and_nothing_is_made(args, message):
    with pytest.raises(CommandError, match=message):
        ensure(*args)
    assert not User.objects.exists()


def test_a_good_password_or_none_makes_a_staff_superuser():
    assert "password:" in ensure("--email", "Ops@Example.com", "--password", "long-and-unusual-phrase-42")
    user = User.objects.get()
    assert (user.email, user.is_staff, user.is_superuser) == ("ops@example.com", True, True)
    assert user.check_password("long-and-unusual-phrase-42")
    printed = ensure("--email", "ops@example.com")
    user.refresh_from_db()
    assert user.check_password(printed.split("password:")[1].strip())
