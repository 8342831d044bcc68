"""Write paths for users."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import User, normalize_email


@transaction.atomic
def ensure_superuser(*, email: str, password: str | None = None) -> tuple[User, str, bool]:
    """Make sure an active staff superuser with this email exists and give it a password
    (a fresh random one unless given). The email and a given password pass Django's validators, or a
    ValidationError says what is wrong and nothing is changed. Returns the user, the password and whether it was
    created."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError(f"{email!r} is not an email address.") from error
    if password is not None:
        validate_password(password, User(email=email))
    password = password or secrets.token_urlsafe(12)
    user, created = User.objects.select_for_update().get_or_create(email=email)
    user.is_active = user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return user, password, created
