import os

import pytest
from django.db import connection

from tests.factories import make_superuser

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: run with DATABASE_URL=postgres://… (scripts/test finds or starts a local server)",
)


@pytest.fixture
def superuser(db):
    return make_superuser()


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def pytest_sessionfinish(session, exitstatus):
    """In CI (REQUIRE_NO_SKIPS=1) a skipped test is an untested feature: fail the run."""
    if os.environ.get("REQUIRE_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"REQUIRE_NO_SKIPS: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
