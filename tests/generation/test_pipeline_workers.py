"""The pipeline through real django-q2 worker processes (`manage.py qcluster`), sharing the test
database, the loopback OpenAI server and moto's S3 server."""

import pytest

from generation.models import GenerationTask
from tests.conftest import requires_postgresql
from tests.generation.helpers import assert_task_stored_completely, submit
from tests.servers import Cluster, wait_until

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def finished(task: GenerationTask):
    task.refresh_from_db()
    return task.is_finished


@pytest.fixture
def start_cluster(cluster_env, tmp_path):
    started = []

    def start(**extra) -> Cluster:
        cluster = Cluster(env=cluster_env, log_path=tmp_path / f"qcluster-{len(started)}.log", extra=extra).start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def test_a_task_submitted_here_is_completed_by_a_worker_cluster(start_cluster, s3_bucket, settings):
    settings.PERSONAS_PER_BATCH = 2
    start_cluster(PERSONAS_PER_BATCH="2")
    task = submit(number_to_generate=5, images_per_persona=4)
    wait_until(lambda: finished(task), timeout=90, message="the task to finish")
    assert_task_stored_completely(task, s3_bucket)
    assert task.units.filter(state="done").count() == 3 + 5
