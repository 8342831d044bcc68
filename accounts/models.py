"""The custom user on the documented `users` table: the email is the login."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


def normalize_email(email: str) -> str:
    """Emails are stored trimmed and lower-cased, so the unique index is case-insensitive."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=normalize_email(username))

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if extra_fields["is_staff"] is not True or extra_fields["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """`users`: the documented columns, plus `is_staff` and `is_superuser` (and Django's
    permission tables), which the admin needs and which a later migration adds."""

    email = models.CharField("email address", max_length=255)
    # The documented column name; Django's hashes (and legacy bcrypt ones) fit in 255.
    password = models.CharField("password", max_length=255, db_column="password_hash")
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(
        default=True, help_text="Unticking this blocks sign-in without deleting the user and their tasks."
    )
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the web app and this admin site.")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            # Alembic's unique index; sign-in looks users up by email.
            models.UniqueConstraint(
                fields=["email"],
                name="ix_users_email",
                violation_error_message="A user with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)
