"""Django only: the django-q2 jobs moved from `generation.jobs` to `generation.services.jobs`, so the sweep's
stored schedules name the new path. Jobs already in the queue under the old name fail to import; the sweep sends
their units and unstarted tasks again."""

from django.db import migrations

OLD = "generation.jobs."
NEW = "generation.services.jobs."


def rename(old: str, new: str):
    def run(apps, schema_editor):
        Schedule = apps.get_model("django_q", "Schedule")
        for schedule in Schedule.objects.filter(func__startswith=old):
            schedule.func = new + schedule.func[len(old) :]
            schedule.save(update_fields=["func"])

    return run


class Migration(migrations.Migration):
    dependencies = [("generation", "0024_api_call_list_indexes"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(rename(OLD, NEW), rename(NEW, OLD))]
