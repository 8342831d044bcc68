"""Alembic 36b6aa503da9 (add_s3_image_url_fields_to_generation_results): the base selfie URL and
four fixed image URL columns. The four columns are replaced by `images` in the next migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generation", "0002_create_generation_results_table")]

    operations = [
        migrations.AddField(
            model_name="generationresult", name="base_image_url", field=models.TextField(blank=True, null=True)
        ),
        migrations.AddField(model_name="generationresult", name="image_1_url", field=models.TextField(null=True)),
        migrations.AddField(model_name="generationresult", name="image_2_url", field=models.TextField(null=True)),
        migrations.AddField(model_name="generationresult", name="image_3_url", field=models.TextField(null=True)),
        migrations.AddField(model_name="generationresult", name="image_4_url", field=models.TextField(null=True)),
    ]
