"""A database outage, replayed on gunicorn with DEBUG off and the database URL pointing at a port nothing listens
on: pages answer a 503 with Retry-After, which says "come back shortly", not the generic 500 of a bug. The shared
PostgreSQL server is never stopped for this."""

import pytest
from django.db import connection

from testkit.factories import make_user
from testkit.servers import free_port
from testkit.web import running_gunicorn

DEAD_DATABASE = f"postgres://avatar:avatar@127.0.0.1:{free_port()}/avatar"


def test_a_page_that_needs_the_database_answers_503_with_retry_after_while_it_is_down(tmp_path):
    with running_gunicorn({"DATABASE_URL": DEAD_DATABASE, "MEDIA_ROOT": str(tmp_path)}, tmp_path / "web.log") as web:
        # A signed-in operator's session is looked up in the database before the task list is shown.
        answer = web.get("/tasks/", cookies={"sessionid": "a-session-the-database-would-know"})
        health = web.get("/healthz")
    assert answer.status == 503, web.log()
    assert int(answer.headers["Retry-After"]) > 0
    assert b"The database did not answer" in answer.body
    assert b'name="viewport" content="width=device-width' in answer.body  # readable at phone width
    assert answer.headers["Cache-Control"] == "private, no-cache"
    assert health.status == 503 and health.body == b'{"status": "failed"}'


@pytest.mark.django_db
def test_a_missing_table_is_a_500_not_an_outage(client):
    """SQLite reports a migration not run as an OperationalError too; "back shortly" would hide the true cause.
    The table is renamed inside the test's transaction, which rolls the rename back."""
    client.raise_request_exception = False
    client.force_login(make_user(is_staff=True))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE generation_tasks RENAME TO generation_tasks_hidden")
    response = client.get("/tasks/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong" in response.content.decode() and 'name="viewport"' in response.content.decode()
