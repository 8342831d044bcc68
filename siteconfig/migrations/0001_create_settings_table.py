"""Alembic d8cfd3cb4083 (create_settings_table): the `settings` table, seeded with the four
default bio prompts."""

import django.db.models.functions.datetime
from django.db import migrations, models

from siteconfig.defaults import DEFAULT_BIO_PROMPTS


def seed_bio_prompts(apps, schema_editor):
    Settings = apps.get_model("siteconfig", "Settings")
    for key, value in DEFAULT_BIO_PROMPTS.items():
        Settings.objects.get_or_create(key=key, defaults={"value": value})


def remove_bio_prompts(apps, schema_editor):
    Settings = apps.get_model("siteconfig", "Settings")
    Settings.objects.filter(key__in=DEFAULT_BIO_PROMPTS).delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Settings",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255)),
                ("value", models.TextField()),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "bio prompt",
                "verbose_name_plural": "bio prompts",
                "db_table": "settings",
                "ordering": ["key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key",),
                        name="ix_settings_key",
                        violation_error_message="This key is taken already.",
                    )
                ],
            },
        ),
        migrations.RunPython(seed_bio_prompts, remove_bio_prompts),
    ]
