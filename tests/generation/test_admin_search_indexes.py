"""Migration 0014's trigram indexes exist on PostgreSQL, and the admin's own search queries can use them: the
index expressions are exactly those Django's `icontains` compiles to."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory

from generation.admin.results import GenerationResultAdmin
from generation.admin.tasks import GenerationTaskAdmin
from generation.models import GenerationResult, GenerationTask
from tests.conftest import requires_postgresql
from tests.generation.helpers import used_indexes

pytestmark = [pytest.mark.django_db, requires_postgresql]

TRIGRAM_INDEXES = {
    "generation_tasks_description_trgm": ("generation_tasks", "upper(persona_description)"),
    "generation_results_firstname_trgm": ("generation_results", "upper((firstname)::text)"),
    "generation_results_lastname_trgm": ("generation_results", "upper((lastname)::text)"),
}


def fetch(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_trigram_indexes_exist_as_gin_indexes_on_the_upper_cased_columns():
    rows = fetch(
        "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = ANY(%s)",
        [list(TRIGRAM_INDEXES)],
    )
    assert {name: table for name, table, _ in rows} == {name: table for name, (table, _) in TRIGRAM_INDEXES.items()}
    for name, _, definition in rows:
        assert "USING gin" in definition and "gin_trgm_ops" in definition, definition
        assert TRIGRAM_INDEXES[name][1] in definition, definition
    assert fetch("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'") == [(1,)]


def searched(model_admin_class, model, term: str):
    model_admin = model_admin_class(model, admin_site=None)
    request = RequestFactory().get("/", {"q": term})
    queryset, _ = model_admin.get_search_results(request, model.objects.order_by(), term)
    return queryset


def test_the_admin_name_search_over_every_result_is_an_or_of_index_scans():
    used = used_indexes(searched(GenerationResultAdmin, GenerationResult, "Rousseau"))
    assert {"generation_results_firstname_trgm", "generation_results_lastname_trgm"} <= used
    assert "ix_generation_results_task_id" in used  # the task id, through the scalar subquery


def test_the_admin_task_search_uses_the_description_index_and_the_task_id_index():
    used = used_indexes(searched(GenerationTaskAdmin, GenerationTask, "biarritz"))
    assert "generation_tasks_description_trgm" in used
    assert used & {"ix_generation_tasks_task_id", "uq_generation_tasks_task_id"}


@pytest.mark.django_db(transaction=True)  # CREATE INDEX CONCURRENTLY cannot run inside the test's transaction
def test_the_trigram_migration_reverses_and_applies_again():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("generation", "0013_cancelled_status_and_task_runs")])
        assert not fetch("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(TRIGRAM_INDEXES)])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    names = fetch("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)", [list(TRIGRAM_INDEXES)])
    assert sorted(name for (name,) in names) == sorted(TRIGRAM_INDEXES)
