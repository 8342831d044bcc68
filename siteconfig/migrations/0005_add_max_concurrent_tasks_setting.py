"""Alembic 7e1fabd32d40 (add_max_concurrent_tasks_setting): the `settings` row max_concurrent_tasks = '1', as text.
The next revision moves it into `int_config`."""

from django.db import migrations

KEY = "max_concurrent_tasks"


def seed(apps, schema_editor):
    apps.get_model("siteconfig", "Settings").objects.get_or_create(key=KEY, defaults={"value": "1"})


def unseed(apps, schema_editor):
    apps.get_model("siteconfig", "Settings").objects.filter(key=KEY).delete()


class Migration(migrations.Migration):
    dependencies = [("siteconfig", "0004_add_randomize_image_style_config")]

    operations = [migrations.RunPython(seed, unseed)]
