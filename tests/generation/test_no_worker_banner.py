"""A task nothing moves says so within about 90 s: pending with no worker, as before, and now running with every
worker gone too. When every worker was killed mid-task, the page went on saying "Generating images" for minutes, until
the stall banner's STALL_MINUTES were up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task as QueueTask

from generation.models import GenerationTask, PipelineUnit
from generation.pipeline import lifecycle
from generation.selectors import task_state
from testkit.factories import make_user
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = make_user("owner@example.com", is_staff=True)
    client.force_login(user)
    return user


def swept(seconds_ago: float) -> None:
    """A cluster's sweep, as django-q2 records it, that ended this long ago."""
    stopped = timezone.now() - timedelta(seconds=seconds_ago)
    QueueTask.objects.create(
        id=f"{QueueTask.objects.count():032x}", name="sweep", func=lifecycle.SWEEP_JOB, started=stopped,
        stopped=stopped, success=True,
    )  # fmt: skip


def running_task(owner) -> tuple[GenerationTask, PipelineUnit]:
    """A task a worker started: its persona batches planned, one taken by the worker under a lease."""
    task = submit(user=owner, number_to_generate=12)
    lifecycle.start(task.pk)
    task.refresh_from_db()
    unit = lifecycle.claim(task.units.order_by("pk").first().pk)
    assert task.status == "generating-data" and unit.state == "running"
    return task, unit


def worker_killed(unit: PipelineUnit) -> None:
    """The worker died: no heartbeat renews its lease, which has run out."""
    PipelineUnit.objects.filter(pk=unit.pk).update(lease_until=timezone.now() - timedelta(seconds=5))


def banner(client, task: GenerationTask) -> str:
    html = client.get(reverse("task_live", args=[task.task_code]), headers={"HX-Request": "true"}).content.decode()
    start = html.find('id="worker-banner"')
    return html[start : html.find("</section>", start)] if start >= 0 else ""


def test_a_running_task_whose_workers_all_died_shows_the_no_worker_banner(client, owner):
    task, unit = running_task(owner)
    swept(seconds_ago=100)
    worker_killed(unit)

    state = task_state(task)

    assert state.no_worker and not state.stalled  # long before STALL_MINUTES
    shown = banner(client, task)
    assert "No worker is running" in shown and "none is working on this task" in shown
    assert "python manage.py qcluster" in shown


def test_a_running_task_on_a_machine_where_no_worker_ever_ran_shows_it_too(client, owner):
    task, unit = running_task(owner)  # e.g. `generate --sync` was killed
    worker_killed(unit)

    assert "No background worker has run yet" in banner(client, task)


def test_a_live_lease_shows_no_banner_though_no_sweep_was_seen(client, owner):
    """A worker in a long call keeps renewing its lease: it is at work, whatever the sweeps say."""
    task, _ = running_task(owner)
    swept(seconds_ago=100)

    assert not task_state(task).no_worker
    assert banner(client, task) == ""


def test_a_recent_sweep_shows_no_banner_while_the_dead_worker_s_unit_waits_to_be_taken_back(client, owner):
    task, unit = running_task(owner)
    worker_killed(unit)
    swept(seconds_ago=30)  # a cluster is alive: its next sweep puts the unit back in line

    assert not task_state(task).no_worker
    assert banner(client, task) == ""


def test_a_worker_counts_as_gone_after_90_s_without_a_sweep(client, owner):
    task, unit = running_task(owner)
    worker_killed(unit)
    swept(seconds_ago=80)
    assert banner(client, task) == ""
    QueueTask.objects.update(stopped=timezone.now() - timedelta(seconds=95))
    assert "No worker is running" in banner(client, task)


def test_a_finished_task_never_shows_the_banner(client, owner):
    task, unit = running_task(owner)
    worker_killed(unit)
    lifecycle.cancel(task, by=owner)
    task.refresh_from_db()

    assert not task_state(task).no_worker and banner(client, task) == ""
