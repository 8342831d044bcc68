"""Django only: the django-q2 schedule that runs `generation.jobs.sweep_stalled_tasks` every
minute, so tasks whose jobs were lost (a worker killed under the Redis broker) resume by themselves."""

from django.db import migrations

SWEEP = "generation.jobs.sweep_stalled_tasks"


def add_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        func=SWEEP, defaults={"name": "Resume stalled generation tasks", "schedule_type": "I", "minutes": 1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0005_pipeline_units_and_rate_slots"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
