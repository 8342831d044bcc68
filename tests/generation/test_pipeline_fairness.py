"""Units of one big task and of several tasks share the workers fairly: each task keeps at most a
window of units in the queue, so a small task submitted after a big one is not stuck behind it."""

import pytest
from django_q.models import OrmQ

from generation.models import PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.lifecycle import in_flight_window
from generation.pipeline.stages import run_unit
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db(transaction=True)


def queued_units_by_task() -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in OrmQ.objects.all():
        if job.task["func"] == lifecycle.RUN_UNIT_JOB:
            counts[job.task["group"]] = counts.get(job.task["group"], 0) + 1
    return counts


def test_a_big_task_queues_only_a_window_of_units_and_a_later_small_task_gets_its_own(settings):
    settings.Q_WORKERS = 3
    settings.PERSONAS_PER_BATCH = 5
    big = submit(number_to_generate=100)  # 20 batches
    small = submit(number_to_generate=5)  # 1 batch
    OrmQ.objects.all().delete()  # the start jobs; they are run here instead
    lifecycle.start(big.pk)
    lifecycle.start(small.pk)
    window = in_flight_window()  # 6: the 3 workers, and one unit waiting for each
    assert queued_units_by_task() == {big.task_code: window, small.task_code: 1}
    assert big.units.filter(state=PipelineUnit.State.PENDING).count() == 20 - window


def test_finishing_a_unit_queues_the_next_one_of_the_same_task(settings):
    settings.Q_WORKERS = 2
    settings.GENERATION_BACKEND = "offline"
    task = submit(number_to_generate=40)  # 8 batches, more than the window of 4
    OrmQ.objects.all().delete()
    lifecycle.start(task.pk)
    first = task.units.filter(state=PipelineUnit.State.QUEUED).order_by("id").first()
    OrmQ.objects.all().delete()
    run_unit(first.pk)
    assert queued_units_by_task() == {task.task_code: 1}
    assert task.units.filter(state__in=["queued", "running"]).count() == in_flight_window()
