"""Alembic 30c18b6939ce (convert_image_urls_to_jsonb_array): `images`, an ordered JSON list of
URLs (jsonb on PostgreSQL), replaces `image_1_url` … `image_4_url`.

Forward, the non-null URLs move into the list in column order (a row with none keeps NULL).
Backward, the first four URLs of the list go back to the columns; any further ones are lost,
as in the Alembic downgrade."""

from django.db import migrations, models

URL_COLUMNS = ("image_1_url", "image_2_url", "image_3_url", "image_4_url")
CHUNK = 1000


def urls_to_images(apps, schema_editor):
    Result = apps.get_model("generation", "GenerationResult")
    changed = []
    for result in Result.objects.only("id", *URL_COLUMNS).iterator(chunk_size=CHUNK):
        urls = [getattr(result, column) for column in URL_COLUMNS if getattr(result, column) is not None]
        if urls:
            result.images = urls
            changed.append(result)
        if len(changed) >= CHUNK:
            Result.objects.bulk_update(changed, ["images"])
            changed = []
    Result.objects.bulk_update(changed, ["images"])


def images_to_urls(apps, schema_editor):
    Result = apps.get_model("generation", "GenerationResult")
    changed = []
    for result in Result.objects.only("id", "images").exclude(images=None).iterator(chunk_size=CHUNK):
        urls = result.images if isinstance(result.images, list) else []
        for position, column in enumerate(URL_COLUMNS):
            setattr(result, column, urls[position] if position < len(urls) else None)
        changed.append(result)
        if len(changed) >= CHUNK:
            Result.objects.bulk_update(changed, URL_COLUMNS)
            changed = []
    Result.objects.bulk_update(changed, URL_COLUMNS)


class Migration(migrations.Migration):
    dependencies = [("generation", "0003_add_s3_image_url_fields_to_generation_results")]

    operations = [
        migrations.AddField(model_name="generationresult", name="images", field=models.JSONField(blank=True, null=True)),
        migrations.RunPython(urls_to_images, images_to_urls, elidable=False),
        migrations.RemoveField(model_name="generationresult", name="image_1_url"),
        migrations.RemoveField(model_name="generationresult", name="image_2_url"),
        migrations.RemoveField(model_name="generationresult", name="image_3_url"),
        migrations.RemoveField(model_name="generationresult", name="image_4_url"),
    ]
