"""Units of one big task and of several tasks share the workers fairly: each user keeps at most a window of units
in the queue, their tasks taking turns within it, so that a small task submitted after a big one, or after someone
else's many tasks, is not stuck behind them."""

import pytest
from django_q.models import OrmQ

from generation.models import PipelineUnit
from generation.pipeline import lifecycle
from generation.pipeline.lifecycle import in_flight_window
from generation.pipeline.stages import run_unit
from siteconfig.models import IntConfig
from testkit.factories import make_user
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def tasks_run_side_by_side():
    """Fairness is between tasks that generate at once: more than max_concurrent_tasks' seed of 1."""
    IntConfig.set_value("max_concurrent_tasks", 10)


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


def run_next_job() -> tuple[str, str] | None:
    """Run the broker's oldest job here, as the next free worker would: (its group, its function)."""
    job = OrmQ.objects.order_by("id").first()
    if job is None:
        return None
    job.delete()
    func, args = job.task["func"], job.task["args"]
    {lifecycle.START_JOB: lifecycle.start, lifecycle.RUN_UNIT_JOB: run_unit}[func](*args)
    return job.task["group"], func


def units_run_before(task_code: str, limit: int = 200) -> list[str]:
    """Run jobs in the broker's order until a unit of this task has run; the tasks of the units run before it."""
    before = []
    for _ in range(limit):
        group, func = run_next_job()
        if func != lifecycle.RUN_UNIT_JOB:
            continue
        if group == task_code:
            return before
        before.append(group)
    raise AssertionError(f"no unit of {task_code} ran in {limit} jobs")


def test_one_users_many_tasks_do_not_hold_up_another_users_one_unit(settings):
    settings.Q_WORKERS = 1
    settings.PERSONAS_PER_BATCH = 1
    settings.GENERATION_BACKEND = "offline"
    a = make_user(is_staff=True)
    backlog = [submit(user=a, number_to_generate=10) for _ in range(3)]  # 30 batches
    for _ in backlog:
        run_next_job()  # their starts
    b_task = submit(user=make_user(is_staff=True), number_to_generate=1)
    before = units_run_before(b_task.task_code)
    codes = {task.task_code for task in backlog}
    assert set(before) <= codes
    # B waits for what A had queued when it arrived and for what A queued while B's start waited: two windows at
    # most, whatever the size of A's backlog.
    assert len(before) <= 2 * in_flight_window()
    assert PipelineUnit.objects.filter(task__in=backlog, state=PipelineUnit.State.PENDING).count() >= 20


def test_a_users_tasks_take_turns_within_their_window(settings):
    settings.Q_WORKERS = 1
    settings.PERSONAS_PER_BATCH = 1
    settings.GENERATION_BACKEND = "offline"
    a = make_user(is_staff=True)
    big = submit(user=a, number_to_generate=20)
    run_next_job()
    small = submit(user=a, number_to_generate=1)
    lifecycle.start(small.pk)  # as its start job would (that one, later, finds it started)
    assert small.units.get().state == PipelineUnit.State.PENDING  # the window is full of the big task's units
    assert queued_units_by_task() == {big.task_code: in_flight_window()}
    before = units_run_before(small.task_code)
    assert len(before) <= in_flight_window()  # the first unit to end gave its place to the task served least
    assert big.units.filter(state=PipelineUnit.State.PENDING).count() >= 20 - 2 * in_flight_window()
