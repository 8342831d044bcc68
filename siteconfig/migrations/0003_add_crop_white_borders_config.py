"""Alembic 70c50b9233b6 (add_crop_white_borders_config): the `config` row crop_white_borders, off."""

from django.db import migrations

KEY = "crop_white_borders"


def seed(apps, schema_editor):
    apps.get_model("siteconfig", "Config").objects.get_or_create(key=KEY, defaults={"value": False})


def unseed(apps, schema_editor):
    apps.get_model("siteconfig", "Config").objects.filter(key=KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("siteconfig", "0002_create_config_table_for_boolean_settings")]

    operations = [migrations.RunPython(seed, unseed)]
