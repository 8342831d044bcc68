"""Write paths for users."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts.models import User, normalize_email


@transaction.atomic
def ensure_superuser(*, email: str, password: str | None = None) -> tuple[User, str, bool]:
    """Make sure an active staff superuser with this email exists and give it a password
    (a fresh random one unless given). Returns the user, the password and whether it was created."""
    password = password or secrets.token_urlsafe(12)
    user, created = User.objects.select_for_update().get_or_create(email=normalize_email(email))
    user.is_active = user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return user, password, created
