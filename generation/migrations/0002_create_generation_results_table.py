"""Alembic 3d677a879bd9 (create_generation_results_table): the `generation_results` table, its
indexes, and the foreign key to `generation_tasks` with ON DELETE CASCADE under its documented name
(added in SQL on PostgreSQL, so deleting a task row in plain SQL deletes its results too)."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


def add_task_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE generation_results ADD CONSTRAINT fk_generation_results_task_id "
            "FOREIGN KEY (task_id) REFERENCES generation_tasks (id) ON DELETE CASCADE"
        )


def drop_task_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE generation_results DROP CONSTRAINT IF EXISTS fk_generation_results_task_id")


class Migration(migrations.Migration):
    dependencies = [("generation", "0001_create_generation_tasks_table")]

    operations = [
        migrations.CreateModel(
            name="GenerationResult",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("batch_number", models.IntegerField()),
                ("firstname", models.CharField(max_length=100)),
                ("lastname", models.CharField(max_length=100)),
                ("gender", models.CharField(choices=[("f", "Female"), ("m", "Male")], max_length=10)),
                ("bio_facebook", models.TextField(blank=True, null=True)),
                ("bio_instagram", models.TextField(blank=True, null=True)),
                ("bio_x", models.TextField(blank=True, null=True)),
                ("bio_tiktok", models.TextField(blank=True, null=True)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "task",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="results",
                        to="generation.generationtask",
                    ),
                ),
            ],
            options={
                "db_table": "generation_results",
                "ordering": ["id"],
                "indexes": [
                    models.Index(fields=["task"], name="ix_generation_results_task_id"),
                    models.Index(fields=["batch_number"], name="ix_generation_results_batch_number"),
                ],
            },
        ),
        migrations.RunPython(add_task_foreign_key, drop_task_foreign_key, elidable=False),
    ]
