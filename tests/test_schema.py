"""The schema as PostgreSQL's catalogue sees it matches ../shared/spec/database-schema.md."""

import pytest
from django.db import connection

from siteconfig.defaults import DEFAULT_BIO_PROMPTS
from testkit.factories import make_result, make_task
from tests.conftest import requires_postgresql

NOW = "statement_timestamp()"  # what Django's Now() compiles to on PostgreSQL
TS = "timestamp with time zone"

# column: (type, max length, nullable, default)
EXPECTED_COLUMNS = {
    "users": {
        "id": ("integer", None, False, None),
        "email": ("character varying", 255, False, None),
        "password_hash": ("character varying", 255, False, None),
        "created_at": (TS, None, False, None),
        "last_login": (TS, None, True, None),
        "is_active": ("boolean", None, False, None),
        # Django-only, added after the documented chain.
        "is_staff": ("boolean", None, False, None),
        "is_superuser": ("boolean", None, False, None),
    },
    "settings": {
        "id": ("integer", None, False, None),
        "key": ("character varying", 255, False, None),
        "value": ("text", None, False, None),
        "created_at": (TS, None, False, NOW),
        "updated_at": (TS, None, False, NOW),
    },
    "config": {
        "id": ("integer", None, False, None),
        "key": ("character varying", 255, False, None),
        "value": ("boolean", None, False, None),
        "created_at": (TS, None, False, NOW),
        "updated_at": (TS, None, False, NOW),
    },
    "generation_tasks": {
        "id": ("integer", None, False, None),
        "task_id": ("character varying", 12, False, None),
        "user_id": ("integer", None, False, None),
        "persona_description": ("text", None, False, None),
        "bio_language": ("character varying", 100, False, None),
        "number_to_generate": ("integer", None, False, None),
        "images_per_persona": ("integer", None, False, None),
        "status": ("character varying", 50, False, "'pending'::character varying"),
        "error_log": ("text", None, True, None),
        "created_at": (TS, None, False, NOW),
        "updated_at": (TS, None, False, NOW),
        "completed_at": (TS, None, True, None),
    },
    "generation_results": {
        "id": ("integer", None, False, None),
        "task_id": ("integer", None, False, None),
        "batch_number": ("integer", None, False, None),
        "firstname": ("character varying", 100, False, None),
        "lastname": ("character varying", 100, False, None),
        "gender": ("character varying", 10, False, None),
        "bio_facebook": ("text", None, True, None),
        "bio_instagram": ("text", None, True, None),
        "bio_x": ("text", None, True, None),
        "bio_tiktok": ("text", None, True, None),
        "base_image_url": ("text", None, True, None),
        "images": ("jsonb", None, True, None),
        "created_at": (TS, None, False, NOW),
        # The original app's revisions 7e69fd85074a and fbc78f685fa2 (original-app-later-revisions.md).
        "job_title": ("text", None, True, None),
        "workplace": ("text", None, True, None),
        "edu_establishment": ("text", None, True, None),
        "edu_study": ("text", None, True, None),
        "current_city": ("character varying", 255, True, None),
        "current_state": ("character varying", 255, True, None),
        "prev_city": ("character varying", 255, True, None),
        "prev_state": ("character varying", 255, True, None),
        "about": ("text", None, True, None),
        "ethnicity": ("character varying", 100, True, None),
        "age": ("integer", None, True, None),
    },
    # Revision 8a3b5c7d9e0f.
    "int_config": {
        "id": ("integer", None, False, None),
        "key": ("character varying", 255, False, None),
        "value": ("integer", None, False, None),
        "created_at": (TS, None, False, NOW),
        "updated_at": (TS, None, False, NOW),
    },
}

# index name: (table, columns, unique)
EXPECTED_INDEXES = {
    "ix_users_email": ("users", ["email"], True),
    "ix_settings_key": ("settings", ["key"], True),
    "ix_config_key": ("config", ["key"], True),
    "ix_generation_tasks_task_id": ("generation_tasks", ["task_id"], True),
    "uq_generation_tasks_task_id": ("generation_tasks", ["task_id"], True),
    "ix_generation_tasks_user_id": ("generation_tasks", ["user_id"], False),
    "ix_generation_tasks_status": ("generation_tasks", ["status"], False),
    "ix_generation_results_task_id": ("generation_results", ["task_id"], False),
    "ix_generation_results_batch_number": ("generation_results", ["batch_number"], False),
    "ix_int_config_key": ("int_config", ["key"], True),
}

# Indexes of our own on the documented tables, beside the documented ones: the admin's trigram searches
# (generation/migrations/0014_trigram_search_indexes.py), on expressions, so with no plain column.
OUR_INDEXES = {
    "generation_tasks_description_trgm": "generation_tasks",
    "generation_results_firstname_trgm": "generation_results",
    "generation_results_lastname_trgm": "generation_results",
    # 0028_profile_search_indexes: the profile searches and the age-band filter.
    "generation_results_job_title_trgm": "generation_results",
    "generation_results_current_city_trgm": "generation_results",
    "generation_results_age": "generation_results",
}


def fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@requires_postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("table", EXPECTED_COLUMNS)
def test_each_documented_table_has_exactly_the_documented_columns(table):
    rows = fetch(
        """SELECT column_name, data_type, character_maximum_length, is_nullable = 'YES', column_default
           FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s""",
        [table],
    )
    actual = {name: (dtype, length, nullable, default) for name, dtype, length, nullable, default in rows}
    assert actual == EXPECTED_COLUMNS[table]


@requires_postgresql
@pytest.mark.django_db
def test_documented_indexes_exist_with_their_names_columns_and_uniqueness():
    rows = fetch(
        """SELECT i.relname, t.relname, array_agg(a.attname ORDER BY a.attnum), ix.indisunique
           FROM pg_index ix
           JOIN pg_class i ON i.oid = ix.indexrelid
           JOIN pg_class t ON t.oid = ix.indrelid
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey)
           WHERE i.relname = ANY(%s)
           GROUP BY i.relname, t.relname, ix.indisunique""",
        [list(EXPECTED_INDEXES)],
    )
    actual = {name: (table, columns, unique) for name, table, columns, unique in rows}
    assert actual == EXPECTED_INDEXES


@requires_postgresql
@pytest.mark.django_db
def test_documented_tables_have_no_indexes_but_the_documented_ones_and_our_own_named_ones():
    rows = fetch(
        """SELECT indexname, tablename FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)
           AND indexname NOT LIKE '%%_pkey'""",
        [list(EXPECTED_COLUMNS)],
    )
    documented = {name: table for name, (table, _, _) in EXPECTED_INDEXES.items()}
    assert dict(rows) == documented | OUR_INDEXES
    assert not set(documented) & set(OUR_INDEXES)


@requires_postgresql
@pytest.mark.django_db
def test_foreign_keys_carry_documented_names_and_results_cascade_in_the_database():
    rows = fetch(
        """SELECT c.conname, t.relname, r.relname, c.confdeltype
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
           WHERE c.contype = 'f' AND t.relname IN ('generation_tasks', 'generation_results')"""
    )
    # confdeltype: 'a' = NO ACTION, 'c' = CASCADE
    assert sorted(rows) == [
        ("fk_generation_results_task_id", "generation_results", "generation_tasks", "c"),
        ("fk_generation_tasks_user_id", "generation_tasks", "users", "a"),
    ]


@requires_postgresql
@pytest.mark.django_db
def test_deleting_a_task_with_plain_sql_deletes_its_results():
    task = make_task()
    make_result(task)
    make_result(task)
    other = make_result(make_task())
    fetch("DELETE FROM generation_tasks WHERE id = %s RETURNING id", [task.pk])
    remaining = fetch("SELECT id, task_id FROM generation_results")
    assert remaining == [(other.pk, other.task.pk)]


@requires_postgresql
@pytest.mark.django_db
def test_database_defaults_fill_status_and_timestamps_for_plain_sql_inserts():
    user_id = make_task().user_id
    (row,) = fetch(
        """INSERT INTO generation_tasks (task_id, user_id, persona_description, bio_language, number_to_generate,
           images_per_persona) VALUES ('sqlrow01', %s, 'd', 'English', 1, 4)
           RETURNING status, created_at IS NOT NULL, updated_at IS NOT NULL""",
        [user_id],
    )
    assert row == ("pending", True, True)


@pytest.mark.django_db
def test_a_fresh_migrate_seeds_the_rows_of_every_revision():
    """The prompts (d8cfd3cb4083), the four flags off (d59663db64e2, 70c50b9233b6, d8982580d2a4), and
    max_concurrent_tasks = 1 in int_config, no longer in settings (7e1fabd32d40, then 8a3b5c7d9e0f)."""
    assert dict(fetch("SELECT key, value FROM config")) == {
        "randomize_face_base": False,
        "randomize_face_gender_lock": False,
        "crop_white_borders": False,
        "randomize_image_style": False,
    }
    assert sorted(key for (key,) in fetch("SELECT key FROM settings")) == sorted(DEFAULT_BIO_PROMPTS)
    assert fetch("SELECT key, value FROM int_config") == [("max_concurrent_tasks", 1)]


@pytest.mark.django_db
def test_models_use_the_documented_table_names_on_any_database():
    tables = set(connection.introspection.table_names())
    assert set(EXPECTED_COLUMNS) <= tables
    for table, columns in EXPECTED_COLUMNS.items():
        with connection.cursor() as cursor:
            described = {c.name for c in connection.introspection.get_table_description(cursor, table)}
        assert described == set(columns), table
