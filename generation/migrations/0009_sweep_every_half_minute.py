"""Django only: the sweep runs every 30 s instead of every minute, so that a unit whose worker died is back in the
queue soon after its lease runs out. django-q2's schedules repeat at most once a minute, and its scheduler looks
for due schedules every 30 s: two one-minute schedules half a minute apart make a sweep on every look."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

OLD = "generation.jobs.sweep_stalled_tasks"
NEW = "generation.jobs.sweep"
NAMES = ("Sweep units of dead workers back to the queue (:00)", "Sweep units of dead workers back to the queue (:30)")


def half_minute_sweeps(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(func=OLD).delete()
    start = timezone.now()
    for offset, name in enumerate(NAMES):
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": NEW,
                "schedule_type": "I",
                "minutes": 1,
                "repeats": -1,
                "next_run": start + timedelta(seconds=30 * offset),
            },
        )


def minute_sweep(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(func=NEW).delete()
    Schedule.objects.get_or_create(
        func=OLD, defaults={"name": "Resume stalled generation tasks", "schedule_type": "I", "minutes": 1}
    )


class Migration(migrations.Migration):
    dependencies = [("generation", "0008_unit_leases")]

    operations = [migrations.RunPython(half_minute_sweeps, minute_sweep)]
