"""Alembic d8982580d2a4 (add_randomize_image_style_config): the `config` row randomize_image_style, off."""

from django.db import migrations

KEY = "randomize_image_style"


def seed(apps, schema_editor):
    apps.get_model("siteconfig", "Config").objects.get_or_create(key=KEY, defaults={"value": False})


def unseed(apps, schema_editor):
    apps.get_model("siteconfig", "Config").objects.filter(key=KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("siteconfig", "0003_add_crop_white_borders_config")]

    operations = [migrations.RunPython(seed, unseed)]
