"""Alembic 3a0f944324eb (create_generation_tasks_table): the `generation_tasks` table, its indexes,
and the foreign key to `users` under its documented name (added in SQL on PostgreSQL, since
Django cannot name a foreign key constraint)."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models


def add_user_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE generation_tasks ADD CONSTRAINT fk_generation_tasks_user_id "
            "FOREIGN KEY (user_id) REFERENCES users (id)"
        )


def drop_user_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE generation_tasks DROP CONSTRAINT IF EXISTS fk_generation_tasks_user_id")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("siteconfig", "0001_create_settings_table"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="GenerationTask",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task_id", models.CharField(editable=False, max_length=12)),
                ("persona_description", models.TextField()),
                ("bio_language", models.CharField(max_length=100)),
                ("number_to_generate", models.IntegerField()),
                ("images_per_persona", models.IntegerField(choices=[(4, "4 images"), (8, "8 images")])),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("generating-data", "Generating data"),
                            ("generating-images", "Generating images"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                        ],
                        db_default="pending",
                        default="pending",
                        max_length=50,
                    ),
                ),
                ("error_log", models.TextField(blank=True, null=True)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
                ),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="generation_tasks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "generation_tasks",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["user"], name="ix_generation_tasks_user_id"),
                    models.Index(fields=["status"], name="ix_generation_tasks_status"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("task_id",), name="ix_generation_tasks_task_id"),
                    models.UniqueConstraint(fields=("task_id",), name="uq_generation_tasks_task_id"),
                ],
            },
        ),
        migrations.RunPython(add_user_foreign_key, drop_user_foreign_key, elidable=False),
    ]
