"""Alembic 7e69fd85074a (add_supplementary_persona_fields_job_education_location_about): nine nullable profile
columns on `generation_results`: job, workplace, education, the current and the previous town, and an "about"."""

from django.db import migrations, models


def text(verbose_name=None):
    return models.TextField(verbose_name, null=True, blank=True)


def varchar(verbose_name=None):
    return models.CharField(verbose_name, max_length=255, null=True, blank=True)


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0025_jobs_live_in_services"),
        ("siteconfig", "0006_create_int_config_table_and_migrate_max_concurrent"),
    ]

    operations = [
        migrations.AddField("generationresult", "job_title", text()),
        migrations.AddField("generationresult", "workplace", text()),
        migrations.AddField("generationresult", "edu_establishment", text("school, college or university")),
        migrations.AddField("generationresult", "edu_study", text("field of study")),
        migrations.AddField("generationresult", "current_city", varchar()),
        migrations.AddField("generationresult", "current_state", varchar("current state or region")),
        migrations.AddField("generationresult", "prev_city", varchar("previous city")),
        migrations.AddField("generationresult", "prev_state", varchar("previous state or region")),
        migrations.AddField("generationresult", "about", text()),
    ]
