"""Trigram indexes for the admin's searches, on PostgreSQL only (Django only, after the documented chain).

The admin searches with `icontains`, which PostgreSQL runs as `UPPER(column::text) LIKE UPPER('%term%')`: a scan
of the whole table, since no B-tree helps a pattern that starts with `%`. A pg_trgm GIN index on the same
`UPPER(column)` expression turns it into an index scan:

- `generation_tasks_description_trgm`: the task search by description (20,000 tasks: ~40 ms of the page).
- `generation_results_firstname_trgm`, `generation_results_lastname_trgm`: the result search by name over every
  result (a million rows: a second or more without them).

They carry names of our own beside the documented ones (tests/test_schema.py knows them). The model state does not
change: SQLite, the embedded default, has neither pg_trgm nor GIN, and gets nothing. The indexes are built
CONCURRENTLY (so the migration is not atomic), so that a release on a live database does not stop the workers'
inserts while a million names are indexed. `CREATE EXTENSION pg_trgm` needs the CREATE privilege on the database
(pg_trgm is a trusted extension); the reverse drops the indexes and leaves the extension, which other schemas may
use."""

from django.db import migrations

# index name: (table, column)
TRIGRAM_INDEXES = {
    "generation_tasks_description_trgm": ("generation_tasks", "persona_description"),
    "generation_results_firstname_trgm": ("generation_results", "firstname"),
    "generation_results_lastname_trgm": ("generation_results", "lastname"),
}


def concurrently(schema_editor) -> str:
    """CONCURRENTLY, unless a caller runs the migrations inside its own transaction (adopt_legacy_db adopts a
    database all or nothing), where PostgreSQL refuses it; the build then holds its lock until that commit."""
    return "" if schema_editor.connection.in_atomic_block else " CONCURRENTLY"


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    how = concurrently(schema_editor)
    for name, (table, column) in TRIGRAM_INDEXES.items():
        # A failed concurrent build leaves an invalid index behind: drop it so that running this again builds it.
        schema_editor.execute(f"DROP INDEX{how} IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX{how} {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops)")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    how = concurrently(schema_editor)
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX{how} IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("generation", "0013_cancelled_status_and_task_runs"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
