"""/healthz: anyone learns whether the instance is healthy, only staff or the bearer of HEALTHZ_TOKEN learn which
part failed, and "no worker" is reported once no cluster has run the sweep for two minutes (it said "broker ok"
then, from the sweep's schedule, which a migration or a restart moves on without any worker)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Task as QueueTask
from django_q.tasks import async_task

from avatar_project.health import NO_WORKER_AFTER
from generation.pipeline import lifecycle
from generation.pipeline.lifecycle import SWEEP_JOB
from testkit.factories import make_user

pytestmark = pytest.mark.django_db
TOKEN = "a-monitor-token-of-some-length"
HEALTHY = {"status": "ok", "database": "ok", "worker": "ok", "storage": "ok"}


def sweep_ran(ago: timedelta = timedelta(0)) -> None:
    """Run the sweep as a cluster does (django-q2's worker and monitor, in this process), and date its run `ago`."""
    async_task(SWEEP_JOB, sync=True)
    QueueTask.objects.filter(func=SWEEP_JOB).update(stopped=timezone.now() - ago)


@pytest.fixture
def staff_client(client):
    client.force_login(make_user(is_staff=True))
    return client


def test_anonymous_callers_learn_only_that_it_is_ok(client):
    sweep_ran(timedelta(seconds=20))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_anonymous_callers_learn_only_that_it_failed(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failed"}


def test_staff_see_each_part(staff_client):
    sweep_ran(timedelta(seconds=20))
    response = staff_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == HEALTHY


def test_the_bearer_of_the_token_sees_each_part(client, settings):
    settings.HEALTHZ_TOKEN = TOKEN
    sweep_ran()
    assert client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").json() == HEALTHY
    assert client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}").json() == {"status": "ok"}
    assert client.get("/healthz", HTTP_AUTHORIZATION=f"Basic {TOKEN}").json() == {"status": "ok"}


def test_no_token_is_accepted_while_none_is_set(client, settings):
    settings.HEALTHZ_TOKEN = ""
    sweep_ran()
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_no_worker_once_no_cluster_has_swept_for_two_minutes(staff_client):
    """The sweep's schedules are fresh (a migration made them just now), but the last sweep ran before."""
    sweep_ran(NO_WORKER_AFTER + timedelta(seconds=10))
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed" and body["database"] == "ok" and body["storage"] == "ok"
    silence = body["worker"].removeprefix("no worker: no cluster has run the sweep for ").removesuffix(" s")
    assert int(silence) >= 130


def test_no_worker_when_no_cluster_has_ever_swept(staff_client):
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "no worker: no cluster has ever run the sweep"


def test_staff_see_the_storage_named_when_it_is_unreachable_and_no_secret(staff_client, settings):
    sweep_ran()
    settings.STORAGES = {
        "default": {
            "BACKEND": "generation.integrations.storage.PutObjectS3Storage",
            "OPTIONS": {
                "bucket_name": "nowhere",
                "endpoint_url": "http://127.0.0.1:9",  # the discard port: nothing listens
                "access_key": "AKIASECRETSHOULDNOTSHOW",
                "secret_key": "secret-value-that-must-not-leak",
                "region_name": "us-east-1",
            },
        },
        "staticfiles": settings.STORAGES["staticfiles"],
    }
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["storage"].startswith("failed: ")
    assert b"secret-value-that-must-not-leak" not in response.content and b"AKIA" not in response.content


def test_a_worker_quiet_for_less_than_two_minutes_is_still_ok(staff_client):
    """The task page's banner speaks sooner; a monitor that pages someone waits the full two minutes."""
    sweep_ran(NO_WORKER_AFTER - timedelta(seconds=15))
    assert staff_client.get("/healthz").json() == HEALTHY


def test_healthz_says_no_worker_after_two_minutes_one_sweep_later_than_the_task_page_banner():
    """A monitor pages someone, so it waits longer than the banner the operator reads on the task page."""
    assert timedelta(minutes=2) == NO_WORKER_AFTER
    assert NO_WORKER_AFTER - lifecycle.WORKER_SILENCE == lifecycle.SWEEP_INTERVAL
