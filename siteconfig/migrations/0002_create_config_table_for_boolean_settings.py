"""Alembic d59663db64e2 (create_config_table_for_boolean_settings): the `config` table of boolean
flags, seeded with both face-randomisation flags off. (The reverted revision 9d413bd6c3bd, which put
these flags on `settings` as columns, is deliberately not reproduced.)"""

import django.db.models.functions.datetime
from django.db import migrations, models

from siteconfig.defaults import DEFAULT_CONFIG_FLAGS


def seed_config_flags(apps, schema_editor):
    Config = apps.get_model("siteconfig", "Config")
    for key, value in DEFAULT_CONFIG_FLAGS.items():
        Config.objects.get_or_create(key=key, defaults={"value": value})


def remove_config_flags(apps, schema_editor):
    Config = apps.get_model("siteconfig", "Config")
    Config.objects.filter(key__in=DEFAULT_CONFIG_FLAGS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("siteconfig", "0001_create_settings_table"),
        ("generation", "0004_convert_image_urls_to_jsonb_array"),
    ]

    operations = [
        migrations.CreateModel(
            name="Config",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255)),
                ("value", models.BooleanField()),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "verbose_name": "config flag",
                "verbose_name_plural": "config flags",
                "db_table": "config",
                "ordering": ["key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("key",), name="ix_config_key", violation_error_message="This key is taken already."
                    )
                ],
            },
        ),
        migrations.RunPython(seed_config_flags, remove_config_flags),
    ]
