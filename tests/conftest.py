import copy
import os
import signal

import pytest
from django.core.cache import cache
from django.db import connection
from moto.server import ThreadedMotoServer

from generation.integrations.backends import get_backend
from testkit.factories import make_superuser
from testkit.fake_openai import running_fake_openai
from testkit.servers import ROOT, Cluster, database_url, new_bucket, wait_until

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: run with DATABASE_URL=postgres://… (scripts/test finds or starts a local server)",
)


@pytest.fixture(autouse=True)
def isolated_pipeline(settings, tmp_path):
    """Each test writes its files to its own folder, starts with empty caches and a fresh
    backend, and does not wait between unit retries."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UNIT_RETRY_DELAY = 0
    cache.clear()
    get_backend.cache_clear()
    yield
    get_backend.cache_clear()


@pytest.fixture
def superuser(db):
    return make_superuser()


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server mode on loopback, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint, settings):
    """A fresh bucket, made the default storage through django-storages' S3Storage."""
    bucket = new_bucket(moto_endpoint)
    settings.STORAGES = bucket.storages()
    # As settings.py does for AWS_S3_ENDPOINT_URL: pages may show images from the storage.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["img-src"].append(moto_endpoint)
    settings.CONTENT_SECURITY_POLICY = policy
    return bucket


@pytest.fixture
def fake_openai(settings):
    """The OpenAI-wire-format server on loopback, with the real client pointed at it."""
    with running_fake_openai() as server:
        settings.GENERATION_BACKEND = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-test-key-0123456789"
        settings.OPENAI_MAX_RETRIES = 1
        get_backend.cache_clear()
        yield server


@pytest.fixture
def cluster_env(fake_openai, s3_bucket, tmp_path, settings):
    """The environment of a `manage.py qcluster` process that shares this test's database,
    OpenAI server and bucket."""
    return {
        "DATABASE_URL": database_url(),
        "ENV_FILE": "/nonexistent/.env",
        # Jobs are signed with SECRET_KEY: workers must share the submitter's.
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "GENERATION_BACKEND": "openai",
        # The loopback server draws portraits that are no faces; the face-check tests turn the checks on.
        "FACE_CHECK": "off",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test-key-0123456789",
        "OPENAI_MAX_RETRIES": "1",
        "Q_WORKERS": "2",
        "Q_POLL": "0.1",
        "UNIT_RETRY_DELAY": "0",
        "MEDIA_ROOT": str(tmp_path / "worker-media"),
        "PYTHONPATH": str(ROOT),
        **s3_bucket.env(),
    }


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def start_cluster(cluster_env, tmp_path):
    """Starts clusters on the ORM broker unless REDIS_URL is given. At the end every one is stopped,
    whatever the test did to it, and none may leave a process behind. Their logs are printed, and so
    shown when the test fails."""
    started: list[Cluster] = []

    def start(**extra) -> Cluster:
        cluster = Cluster(
            env=cluster_env | {"REDIS_URL": ""}, log_path=tmp_path / f"qcluster-{len(started)}.log", extra=extra
        ).start()
        started.append(cluster)
        return cluster

    yield start
    errors = []
    for cluster in started:
        try:
            cluster.stop()
        except Exception as error:  # the other clusters are stopped all the same
            errors.append(error)
        print(f"--- {cluster.log_path.name} ---\n{cluster.log_path.read_text(errors='replace')[-6000:]}")
    leftovers = []
    for cluster in started:
        pgid = cluster.process.pid
        try:
            wait_until(lambda pgid=pgid: not process_group_alive(pgid), timeout=10, message="the cluster to exit")
        except AssertionError:
            leftovers.append(pgid)
            os.killpg(pgid, signal.SIGKILL)
    assert not errors, errors
    assert not leftovers, f"cluster process group(s) {leftovers} outlived their cluster"


def pytest_runtest_setup(item):
    """A `serial` test stops a service the tests beside it use: under pytest-xdist it would break them, so it
    refuses to run there (scripts/test runs these alone, before the parallel phase)."""
    if item.get_closest_marker("serial") and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        pytest.fail("this test stops a service the tests beside it use: run it with -n 0 (scripts/test does)")


def pytest_sessionfinish(session, exitstatus):
    """In CI (REQUIRE_NO_SKIPS=1) a skipped test is an untested feature: fail the run."""
    if os.environ.get("REQUIRE_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"REQUIRE_NO_SKIPS: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
