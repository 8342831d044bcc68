"""Alembic 25698f3f906f (initial_migration): the `users` table and its unique email index."""

import django.utils.timezone
from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="User",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("password", models.CharField(db_column="password_hash", max_length=255, verbose_name="password")),
                ("last_login", models.DateTimeField(blank=True, null=True, verbose_name="last login")),
                ("email", models.CharField(max_length=255, verbose_name="email address")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "is_active",
                    models.BooleanField(
                        default=True,
                        help_text="Unticking this blocks sign-in without deleting the user and their tasks.",
                    ),
                ),
            ],
            options={
                "db_table": "users",
                "ordering": ["email"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("email",),
                        name="ix_users_email",
                        violation_error_message="A user with this email address already exists.",
                    )
                ],
            },
            managers=[("objects", accounts.models.UserManager())],
        ),
    ]
