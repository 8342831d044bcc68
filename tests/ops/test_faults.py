"""Faults of the services the pipeline depends on, with real worker processes: the database
restarting under a running task, and the storage going away for a while (or for good).

They run alone (`serial`: scripts/test runs them before the others, which run in parallel). Restarting
PostgreSQL cuts every other test's connections, and the storage outage gives its port back to the system for a
while, where a server of a test beside it could take it."""

import shutil
import subprocess
import time

import pytest
from django.db import connection
from moto.server import ThreadedMotoServer

from generation.models import GenerationTask
from testkit.servers import new_bucket, wait_until
from tests.conftest import requires_postgresql
from tests.generation.helpers import assert_task_stored_completely, submit

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True), pytest.mark.serial]


def task_state(task: GenerationTask) -> GenerationTask:
    """Read the task afresh, reconnecting if the database went away under this connection."""
    for _ in range(50):
        try:
            task.refresh_from_db()
            return task
        except Exception:
            connection.close()
            time.sleep(0.2)
    raise AssertionError("the database did not come back")


def restart_postgresql() -> None:
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    version, name = clusters.split()[:2]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"], check=True, timeout=60
    )


@pytest.mark.skipif(not shutil.which("pg_ctlcluster"), reason="needs a local PostgreSQL cluster to restart")
def test_a_task_completes_with_no_lost_or_duplicate_rows_when_postgresql_restarts_under_it(
    start_cluster, fake_openai, s3_bucket, settings
):
    fake_openai.image_latency = 0.8
    settings.PERSONAS_PER_BATCH = 2
    start_cluster(PERSONAS_PER_BATCH="2", UNIT_RETRY_DELAY="1")
    task = submit(number_to_generate=6, images_per_persona=4)
    wait_until(lambda: task_state(task).results.filter(images__isnull=False).exists(), 60, message="first images")
    connection.close()
    restart_postgresql()
    wait_until(lambda: task_state(task).is_finished, 150, interval=0.5, message="the task to finish")
    assert_task_stored_completely(task, s3_bucket)
    names = list(task.results.values_list("firstname", "lastname"))
    assert len(names) == len(set(names)) == 6


def test_units_retry_while_the_storage_is_away_and_the_task_completes_when_it_is_back(
    start_cluster, fake_openai, cluster_env, settings
):
    outage = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    outage.start()
    _, port = outage.get_host_and_port()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = new_bucket(endpoint)
    settings.STORAGES = bucket.storages()
    fake_openai.image_latency = 0.5
    start_cluster(**bucket.env(), UNIT_RETRY_DELAY="2", UNIT_MAX_ATTEMPTS="4")
    task = submit(number_to_generate=4, images_per_persona=4)
    wait_until(lambda: task_state(task).status == "generating-images", 60, message="the images stage")
    outage.stop()
    time.sleep(4)
    back = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    back.start()
    try:
        wait_until(lambda: task_state(task).is_finished, 120, interval=0.5, message="the task to finish")
        assert_task_stored_completely(task, bucket)
        assert task.units.filter(kind="images", attempts__gt=1).exists(), "no unit had to retry"
    finally:
        back.stop()


def test_a_task_fails_with_a_readable_log_when_the_storage_never_comes_back(
    start_cluster, fake_openai, cluster_env, settings
):
    gone = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    gone.start()
    _, port = gone.get_host_and_port()
    bucket = new_bucket(f"http://127.0.0.1:{port}")
    settings.STORAGES = bucket.storages()
    fake_openai.image_latency = 1.0  # both personas' images are in flight when the storage goes
    start_cluster(**bucket.env(), UNIT_RETRY_DELAY="0.2", UNIT_MAX_ATTEMPTS="2")
    task = submit(number_to_generate=2, images_per_persona=4)
    wait_until(lambda: task_state(task).status == "generating-images", 60, message="the images stage")
    gone.stop()
    wait_until(lambda: task_state(task).is_finished, 120, interval=0.5, message="the task to end")
    assert task.status == "failed"
    assert task.error_log.startswith("No persona got its images.")
    assert task.error_log.count("failed 2 times; last:") == 2
    assert "Could not connect to the endpoint URL" in task.error_log
