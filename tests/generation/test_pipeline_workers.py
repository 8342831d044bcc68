"""The pipeline through real django-q2 worker processes (`manage.py qcluster`), sharing the test
database, the loopback OpenAI server and moto's S3 server: one cluster, a cluster killed mid-task
and started again, and two clusters at once, with the ORM broker and with Redis."""

from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf

from generation import jobs
from generation.models import GenerationTask, PipelineUnit
from tests.conftest import requires_postgresql
from tests.factories import make_superuser
from tests.generation.helpers import assert_task_stored_completely, submit
from tests.servers import Cluster, wait_until

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

State = PipelineUnit.State
# A Redis database of its own, emptied before and after each test that uses it.
REDIS_TEST_URL = "redis://127.0.0.1:6379/13"


def finished(task: GenerationTask):
    task.refresh_from_db()
    return task.is_finished


@pytest.fixture
def orm_broker(monkeypatch):
    """This process sends its jobs to the ORM broker, whatever the environment says."""
    monkeypatch.setattr(Conf, "ORM", "default")


@pytest.fixture
def redis_broker(monkeypatch):
    """This process sends its jobs to a dedicated, emptied Redis database. django-q2 reads its Conf
    once, at import, so the broker it picks (get_broker: ORM first, Redis last) is switched here."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(f"Redis is unreachable at {REDIS_TEST_URL} ({error}); the Redis broker tests need it")
    client.flushdb()
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_TEST_URL)
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def start_redis_cluster(redis_broker, start_cluster):
    """Clusters on the test's Redis database; they are stopped before that database is emptied."""

    def start(**extra) -> Cluster:
        return start_cluster(REDIS_URL=redis_broker, **extra)

    return start


def running_when_some_personas_have_images(task: GenerationTask) -> bool:
    """The images stage is under way: some personas have their images, not all, and a unit is in a
    worker's hands right now."""
    task.refresh_from_db()
    if task.status != GenerationTask.Status.GENERATING_IMAGES:
        return False
    with_images = task.results.filter(images__isnull=False).count()
    running = task.units.filter(kind=PipelineUnit.Kind.IMAGES, state=State.RUNNING).exists()
    return 0 < with_images < task.number_to_generate and running


def kill_mid_images(cluster: Cluster, task: GenerationTask) -> list[PipelineUnit]:
    """SIGKILL the cluster while it is making images; the units it held, as the kill left them."""
    wait_until(
        lambda: running_when_some_personas_have_images(task), timeout=60, message="the images stage to be under way"
    )
    cluster.kill()
    interrupted = list(task.units.filter(state=State.RUNNING))
    assert interrupted, "the cluster was killed with no unit running (the wait above should make sure of one)"
    assert task.results.filter(images__isnull=True).exists()
    return interrupted


def assert_recovered(task: GenerationTask, interrupted: list[PipelineUnit], bucket, fake_openai) -> None:
    """Completed with every persona and file and nothing extra; the killed units were tried again
    (the attempt the kill cut short is counted); no paid call was repeated beyond the cut-off ones."""
    assert_task_stored_completely(task, bucket)
    units = task.units.all()
    assert {unit.state for unit in units} == {State.DONE}
    batches = units.filter(kind=PipelineUnit.Kind.BATCH).count()
    assert units.filter(kind=PipelineUnit.Kind.IMAGES).count() == task.number_to_generate
    assert len(units) == batches + task.number_to_generate
    for unit in interrupted:
        unit.refresh_from_db()
        assert unit.attempts >= 2, (unit, unit.attempts)
    assert units.filter(attempts__gte=2).exists()
    personas = task.number_to_generate
    assert personas <= len(fake_openai.calls("/images/generations")) <= personas + len(interrupted)
    assert personas <= len(fake_openai.calls("/images/edits")) <= personas + len(interrupted)
    assert len(fake_openai.calls("/chat/completions")) == batches


PERSONAS_FOR_TWO_CLUSTERS = 24


def assert_no_duplicates(task: GenerationTask, bucket, fake_openai, clusters: list[Cluster]) -> None:
    """Exactly the personas asked for, each name once, exactly the expected files, and each paid call
    made once: one chat per batch, one base and one grid per persona. Both clusters took part."""
    assert_task_stored_completely(task, bucket)
    names = [(r.firstname, r.lastname) for r in task.results.all()]
    assert len(names) == len(set(names)) == task.number_to_generate
    units = task.units.all()
    assert {unit.state for unit in units} == {State.DONE}
    assert {unit.attempts for unit in units} == {1}
    batches = units.filter(kind=PipelineUnit.Kind.BATCH).count()
    assert len(fake_openai.calls("/chat/completions")) == batches
    assert len(fake_openai.calls("/images/generations")) == task.number_to_generate
    assert len(fake_openai.calls("/images/edits")) == task.number_to_generate
    for cluster in clusters:
        log = cluster.log_path.read_text(errors="replace")
        assert f"task {task.task_id} unit " in log, f"{cluster.log_path.name} ran none of the task's units"


def sweep_until_finished(task: GenerationTask, timeout: float) -> int:
    """Run the stall sweep as its schedule does, but every half second, until the task ends. Returns
    how many units it queued again."""
    requeued = 0

    def swept_until_finished() -> bool:
        nonlocal requeued
        if finished(task):
            return True
        requeued += jobs.sweep_stalled_tasks()
        return False

    wait_until(swept_until_finished, timeout=timeout, interval=0.5, message="the task to finish, the sweep running")
    return requeued


def wait_for_clusters_ready(clusters: list[Cluster]) -> None:
    """Both clusters are polling the broker before anything is submitted, so both get work."""

    def ready() -> bool:
        return all("running." in cluster.log_path.read_text(errors="replace") for cluster in clusters)

    wait_until(ready, timeout=30, message="the clusters to start")


def test_a_task_submitted_here_is_completed_by_a_worker_cluster(start_cluster, s3_bucket, settings, orm_broker):
    settings.PERSONAS_PER_BATCH = 2
    start_cluster(PERSONAS_PER_BATCH="2")
    task = submit(number_to_generate=5, images_per_persona=4)
    wait_until(lambda: finished(task), timeout=90, message="the task to finish")
    assert_task_stored_completely(task, s3_bucket)
    assert task.units.filter(state="done").count() == 3 + 5


# The ORM broker hands a job out again Q_RETRY seconds after it took it, when no worker acknowledged
# it: that is how a killed cluster's jobs come back. A unit's lease is the job timeout, so the lease
# of a unit cut off has run out by the time its job returns. Short, to keep the test short.
FAST_REDELIVERY = {"Q_TIMEOUT": "8", "Q_RETRY": "12"}


def test_a_worker_killed_mid_task_loses_nothing_and_the_task_completes_after_restart(
    start_cluster, fake_openai, s3_bucket, orm_broker
):
    fake_openai.image_latency = 1.0
    first = start_cluster(**FAST_REDELIVERY)
    task = submit(number_to_generate=6, images_per_persona=4)
    interrupted = kill_mid_images(first, task)

    start_cluster(**FAST_REDELIVERY)
    wait_until(lambda: finished(task), timeout=90, message="the task to finish after the restart")
    assert_recovered(task, interrupted, s3_bucket, fake_openai)


def run_on_two_clusters(start, fake_openai, s3_bucket, settings) -> None:
    """One task through two clusters started by `start` (either broker): done once, by both."""
    fake_openai.image_latency = 0.3
    fake_openai.chat_latency = 0.2
    settings.PERSONAS_PER_BATCH = 2
    clusters = [start(PERSONAS_PER_BATCH="2", Q_WORKERS="3") for _ in range(2)]
    wait_for_clusters_ready(clusters)
    # Enough units that both clusters get some: whichever broker poll comes first takes every waiting job
    # (up to its cluster's queue), so with 10 personas one cluster ran them all about once in 50 runs.
    task = submit(number_to_generate=PERSONAS_FOR_TWO_CLUSTERS, images_per_persona=4)
    wait_until(lambda: finished(task), timeout=90, message="the task to finish")
    assert task.units.filter(kind=PipelineUnit.Kind.BATCH).count() == PERSONAS_FOR_TWO_CLUSTERS // 2
    assert_no_duplicates(task, s3_bucket, fake_openai, clusters)


def test_two_clusters_on_one_database_make_no_duplicates(start_cluster, fake_openai, s3_bucket, settings, orm_broker):
    run_on_two_clusters(start_cluster, fake_openai, s3_bucket, settings)


def test_with_redis_a_killed_cluster_s_units_are_queued_again_by_the_stall_sweep(
    start_redis_cluster, fake_openai, s3_bucket, settings
):
    """Redis forgets a job once a worker took it: after the kill nothing comes back by itself. The
    stall sweep (a schedule, every minute) finds the task with no progress and puts back its units
    whose lease ran out; here it runs from the test, often, with a stall of a few seconds."""
    fake_openai.image_latency = 1.0
    settings.STALL_MINUTES = 3 / 60
    settings.Q_WORKERS = 2  # the sweep queues as many units as a cluster's window holds
    first = start_redis_cluster(Q_TIMEOUT="8", Q_RETRY="10")
    task = submit(number_to_generate=6, images_per_persona=4)
    interrupted = kill_mid_images(first, task)
    start_redis_cluster(Q_TIMEOUT="8", Q_RETRY="10")

    # No broker hands the killed jobs out again: past the end of their leases, the units the kill cut
    # off are still held by nobody and were not tried again.
    lease_end = max(unit.lease_until for unit in interrupted)
    wait_until(lambda: timezone.now() > lease_end + timedelta(seconds=1), timeout=30, message="the leases to end")
    for unit in interrupted:
        unit.refresh_from_db()
        assert (unit.state, unit.attempts) == (State.RUNNING, 1), unit
    requeued = sweep_until_finished(task, timeout=90)
    assert requeued >= len(interrupted)
    assert_recovered(task, interrupted, s3_bucket, fake_openai)


def test_two_clusters_on_one_redis_make_no_duplicates(start_redis_cluster, fake_openai, s3_bucket, settings):
    run_on_two_clusters(start_redis_cluster, fake_openai, s3_bucket, settings)


def test_a_cluster_killed_between_the_last_unit_and_the_next_stage_is_moved_on_by_the_sweep(
    start_cluster, fake_openai, s3_bucket, settings, orm_broker
):
    """A worker that dies between saving its unit as done and moving the task on (its own commit, under
    the task row's lock) leaves a stage with no open unit and a task still running. Holding that lock
    from here makes the workers wait exactly there, so the kill lands in that window every time. No
    job will run for this task again (the one redelivered finds its unit done): the stall sweep must
    move the task on."""
    fake_openai.image_latency = 1.0
    settings.STALL_MINUTES = 2 / 60
    cluster = start_cluster()
    task = submit(number_to_generate=2, images_per_persona=4)
    wait_until(
        lambda: finished(task) or task.status == GenerationTask.Status.GENERATING_IMAGES,
        timeout=60,
        message="the images stage to start",
    )
    images_units = task.units.filter(kind=PipelineUnit.Kind.IMAGES)
    with transaction.atomic():
        GenerationTask.objects.select_for_update().get(pk=task.pk)
        wait_until(
            lambda: images_units.count() == 2 and not images_units.exclude(state=State.DONE).exists(),
            timeout=60,
            message="both images units to end while the task is locked",
        )
        cluster.kill()
    task.refresh_from_db()
    assert task.status == GenerationTask.Status.GENERATING_IMAGES
    assert not task.results.filter(images__isnull=True).exists()

    sweep_until_finished(task, timeout=30)
    assert_task_stored_completely(task, s3_bucket)
    assert {(unit.state, unit.attempts) for unit in task.units.all()} == {(State.DONE, 1)}
    assert len(fake_openai.calls("/images/generations")) == len(fake_openai.calls("/images/edits")) == 2


def test_generate_wait_follows_the_workers_with_a_progress_bar_until_the_task_ends(start_cluster, s3_bucket):
    make_superuser("cli@example.com")
    start_cluster()
    out = StringIO()
    call_command("generate", "Kite surfers in Tarifa", "--count", "3", "--images", "4", "--wait", stdout=out)
    text = out.getvalue()
    task = GenerationTask.objects.get()
    assert f"Task {task.task_id}: 3 persona(s) x 4 images" in text
    assert "] images: 3/3 (completed)" in text
    assert "Status: completed. 3 of 3 persona(s) with data, 3 with images." in text
    assert_task_stored_completely(task, s3_bucket)
