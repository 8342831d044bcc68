"""Alembic 8a3b5c7d9e0f (create_int_config_table_and_migrate_max_concurrent): the `int_config` table of whole-number
settings, keyed by the unique ix_int_config_key; max_concurrent_tasks moves into it from `settings` (the integer its
text holds), and is 1 when there was none."""

import django.db.models.functions.datetime
from django.db import migrations, models

KEY = "max_concurrent_tasks"
DEFAULT = 1


def move_into_int_config(apps, schema_editor):
    Settings = apps.get_model("siteconfig", "Settings")
    IntConfig = apps.get_model("siteconfig", "IntConfig")
    text = Settings.objects.filter(key=KEY).values_list("value", flat=True).first()
    try:
        value = int(text.strip()) if text is not None else DEFAULT
    except ValueError:
        value = DEFAULT  # text that holds no whole number: the original's own default
    IntConfig.objects.get_or_create(key=KEY, defaults={"value": value})
    Settings.objects.filter(key=KEY).delete()


def move_back_into_settings(apps, schema_editor):
    Settings = apps.get_model("siteconfig", "Settings")
    IntConfig = apps.get_model("siteconfig", "IntConfig")
    value = IntConfig.objects.filter(key=KEY).values_list("value", flat=True).first()
    Settings.objects.get_or_create(key=KEY, defaults={"value": str(DEFAULT if value is None else value)})


class Migration(migrations.Migration):
    dependencies = [("siteconfig", "0005_add_max_concurrent_tasks_setting")]

    operations = [
        migrations.CreateModel(
            name="IntConfig",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255)),
                ("value", models.IntegerField()),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "integer setting",
                "verbose_name_plural": "integer settings",
                "db_table": "int_config",
                "ordering": ["key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key",), name="ix_int_config_key", violation_error_message="This key is taken already."
                    )
                ],
            },
        ),
        migrations.RunPython(move_into_int_config, move_back_into_settings),
    ]
