"""int_config's max_concurrent_tasks: at most that many tasks generate at once; the others wait as Pending, say why
on their page, and start in the order they were submitted as running ones end. Operator actions on a finished task
do not wait. The last tests run real clusters."""

from __future__ import annotations

from itertools import combinations

import pytest
from django.urls import reverse

from generation import services
from generation.models import GenerationTask
from generation.pipeline import lifecycle
from generation.selectors.progress import waiting_reason
from siteconfig.models import IntConfig
from testkit.servers import wait_until
from tests.conftest import requires_postgresql
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db(transaction=True)

Status = GenerationTask.Status


def status(task: GenerationTask) -> str:
    task.refresh_from_db()
    return task.status


def test_tasks_over_the_cap_wait_and_start_oldest_first_whichever_start_job_runs(staff):
    IntConfig.set_value("max_concurrent_tasks", 1)
    first, second, third = (submit(user=staff, number_to_generate=1) for _ in range(3))
    assert lifecycle.start(third.pk) is False  # the job sent for the newest starts the oldest instead
    assert [status(task) for task in (first, second, third)] == [Status.GENERATING_DATA, Status.PENDING, Status.PENDING]
    assert lifecycle.start(third.pk) is False and status(second) == Status.PENDING

    lifecycle.cancel(first, by=staff)
    assert lifecycle.start(third.pk) is False
    assert [status(task) for task in (second, third)] == [Status.GENERATING_DATA, Status.PENDING]


def test_a_waiting_task_says_how_many_run_and_what_the_cap_is(client, staff):
    IntConfig.set_value("max_concurrent_tasks", 2)
    running = [submit(user=staff, number_to_generate=1) for _ in range(2)]
    for task in running:
        lifecycle.start(task.pk)
    waiting = submit(user=staff, number_to_generate=1)
    lifecycle.start(waiting.pk)
    expected = "Waiting: 2 tasks are running and the cap is 2 (Admin › Integer settings)"
    assert waiting_reason(waiting) == expected
    page = client.get(reverse("task_detail", args=[waiting.task_code])).content.decode()
    assert expected in page
    running[0].refresh_from_db()
    assert running[0].status == Status.GENERATING_DATA and waiting_reason(running[0]) == ""

    IntConfig.set_value("max_concurrent_tasks", 3)  # raised in the admin: the next start job (or sweep) starts it
    assert waiting_reason(waiting) == ""
    assert lifecycle.start(waiting.pk) is True


def test_the_admin_takes_a_cap_from_1_to_50_and_refuses_anything_else(admin_client):
    row, _ = IntConfig.objects.get_or_create(key="max_concurrent_tasks", defaults={"value": 1})
    url = reverse("admin:siteconfig_intconfig_change", args=[row.pk])
    for refused in ("0", "51", "-3", "2.5", "two"):
        response = admin_client.post(url, {"value": refused})
        assert response.status_code == 200, refused
        assert IntConfig.get_value("max_concurrent_tasks") == 1
    refusal = admin_client.post(url, {"value": "0"}).content.decode()
    assert "max_concurrent_tasks must be a whole number from 1 to 50." in refusal
    response = admin_client.post(url, {"value": "50"})
    assert response.status_code == 302
    assert IntConfig.get_value("max_concurrent_tasks") == 50
    listing = admin_client.get(reverse("admin:siteconfig_intconfig_changelist")).content.decode()
    assert "1 to 50" in listing and "Add integer setting" not in listing


def runs_of(tasks: list[GenerationTask]) -> dict[int, tuple]:
    """Each task's first run: (started, ended)."""
    return {task.pk: task.runs.order_by("started_at").values_list("started_at", "ended_at").first() for task in tasks}


@requires_postgresql
def test_two_clusters_run_at_most_two_of_three_tasks_at_once_in_submission_order(
    start_cluster, fake_openai, s3_bucket, staff
):
    IntConfig.set_value("max_concurrent_tasks", 2)
    fake_openai.image_latency = 1.5
    start_cluster(), start_cluster()
    tasks = [submit(user=staff, number_to_generate=2, images_per_persona=4) for _ in range(3)]

    def two_run_and_the_third_waits() -> bool:
        first, second, third = (status(task) for task in tasks)
        running = lifecycle.RUNNING_STATUSES
        return first in running and second in running and third == Status.PENDING

    wait_until(two_run_and_the_third_waits, timeout=60, interval=0.1, message="two tasks to run and the third to wait")
    assert waiting_reason(tasks[2]) == "Waiting: 2 tasks are running and the cap is 2 (Admin › Integer settings)"
    wait_until(lambda: all(status(task) == Status.COMPLETED for task in tasks), timeout=240, message="all three")

    runs = runs_of(tasks)
    starts = [runs[task.pk][0] for task in tasks]
    assert starts == sorted(starts)  # in the order they were submitted
    overlapping_all = all(
        max(runs[a][0], runs[b][0]) < min(runs[a][1], runs[b][1]) for a, b in combinations([t.pk for t in tasks], 2)
    )
    assert not overlapping_all  # never three at once
    assert runs[tasks[2].pk][0] >= min(runs[tasks[0].pk][1], runs[tasks[1].pk][1])


@requires_postgresql
def test_new_bios_of_a_finished_task_do_not_wait_behind_the_cap(start_cluster, fake_openai, s3_bucket, staff):
    IntConfig.set_value("max_concurrent_tasks", 1)
    start_cluster()
    done = submit(user=staff, number_to_generate=1, images_per_persona=4)
    wait_until(lambda: status(done) == Status.COMPLETED, timeout=90, message="the first task")
    fake_openai.image_latency = 2.0
    busy = submit(user=staff, number_to_generate=4, images_per_persona=4)
    wait_until(lambda: status(busy) == Status.GENERATING_IMAGES, timeout=60, message="the second task to run")

    services.regenerate_bios(done.results.get())
    wait_until(lambda: status(done) == Status.COMPLETED and done.runs.count() == 2, timeout=60, message="new bios")
    wait_until(lambda: status(busy) == Status.COMPLETED, timeout=180, message="the second task")
    redo_started, redo_ended = done.runs.order_by("started_at").values_list("started_at", "ended_at")[1]
    ((busy_started, busy_ended),) = busy.runs.values_list("started_at", "ended_at")
    assert busy_started < redo_started < busy_ended  # the redo started while the cap was full
    assert redo_ended is not None
