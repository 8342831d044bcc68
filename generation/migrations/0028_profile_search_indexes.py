"""Indexes of our own for the admin's profile searches and age filter, on PostgreSQL only (Django only, after the
original's last revision): trigram indexes on job_title and current_city, built as migration 0014 builds its own,
and a B-tree on age for the age-band filter. Names of our own beside the documented ones (tests/test_schema.py knows
them); SQLite gets nothing, and the model state does not change."""

import importlib

from django.db import migrations

trigrams = importlib.import_module("generation.migrations.0014_trigram_search_indexes")

TRIGRAM_INDEXES = {
    "generation_results_job_title_trgm": ("generation_results", "job_title"),
    "generation_results_current_city_trgm": ("generation_results", "current_city"),
}
AGE_INDEX = "generation_results_age"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    how = trigrams.concurrently(schema_editor)
    for name, (table, column) in TRIGRAM_INDEXES.items():
        schema_editor.execute(f"DROP INDEX{how} IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX{how} {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops)")
    schema_editor.execute(f"DROP INDEX{how} IF EXISTS {AGE_INDEX}")
    schema_editor.execute(f"CREATE INDEX{how} {AGE_INDEX} ON generation_results (age)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    how = trigrams.concurrently(schema_editor)
    for name in [*TRIGRAM_INDEXES, AGE_INDEX]:
        schema_editor.execute(f"DROP INDEX{how} IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("generation", "0027_add_ethnicity_and_age_to_generation_results")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
