"""Alembic fbc78f685fa2 (add_ethnicity_and_age_to_generation_results), the original app's last revision: the
persona's ethnicity (a short phrase) and age in years, both nullable."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generation", "0026_add_supplementary_persona_fields_job_education_location_about")]

    operations = [
        migrations.AddField(
            "generationresult", "ethnicity", models.CharField(max_length=100, null=True, blank=True)
        ),
        migrations.AddField("generationresult", "age", models.IntegerField(null=True, blank=True)),
    ]
