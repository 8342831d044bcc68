"""The live part of the task page, asked for every two seconds by every open task page: it counts a task's personas
once, asks about failures only when some unit failed, and renders its numbers plainly (ids and positions are not
quantities to localize)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generation.models import GenerationTask, PipelineUnit
from testkit.factories import make_result, make_task

pytestmark = pytest.mark.django_db


def live(client, task, **query) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("task_live", args=[task.task_code]), query)
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries.captured_queries]


def results_counted(sql: list[str]) -> list[str]:
    """Counts of the task's personas; the face summary's count of their checks is another question."""
    return [
        query
        for query in sql
        if "COUNT(" in query and 'FROM "generation_results"' in query and "generation_face_checks" not in query
    ]


def test_the_live_part_counts_the_task_s_personas_once(client, staff):
    task = make_task(user=staff, number_to_generate=30, status="generating-images")
    for _ in range(30):
        make_result(task)

    html, sql = live(client, task)

    assert len(results_counted(sql)) == 1  # the task's state; the gallery's page count takes it
    assert "1–24 of 30" in html and 'id="persona-' in html


def test_a_filtered_gallery_still_counts_what_it_shows(client, staff):
    task = make_task(user=staff, number_to_generate=30, status="generating-images")
    for n in range(30):
        make_result(task, gender="m" if n < 26 else "f")

    html, sql = live(client, task, gender="m")

    assert len(results_counted(sql)) == 2
    assert "1–24 of 26" in html


def test_the_live_part_asks_about_failures_only_when_a_unit_failed(client, staff):
    task = make_task(user=staff, number_to_generate=2, status="generating-images")
    unit = PipelineUnit.objects.create(task=task, kind=PipelineUnit.Kind.BATCH, number=1, size=2)

    def failure_queries() -> list[str]:
        return [query for query in live(client, task)[1] if '"generation_units"."note"' in query]

    assert failure_queries() == []
    PipelineUnit.objects.filter(pk=unit.pk).update(state=PipelineUnit.State.FAILED, note="the model refused")
    assert len(failure_queries()) == 1


def test_ids_and_positions_in_the_gallery_are_not_localized(client, staff, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    task = make_task(user=staff, number_to_generate=1, status="generating-images")
    make_result(task, id=12345)

    html, _ = live(client, task)

    assert 'id="persona-12345"' in html and 'id="bios-12345"' in html
    assert "12,345" not in html


def test_the_live_part_reads_the_live_leases_once_for_its_stall_and_its_worker_banner(client, staff, settings):
    """A running task quiet for longer than STALL_MINUTES: whether it stalled and whether a worker is at it both
    come from the one count of its units."""
    task = make_task(user=staff, number_to_generate=2, status="generating-images")
    PipelineUnit.objects.create(task=task, kind=PipelineUnit.Kind.BATCH, number=1, size=2, state="running")
    quiet_since = timezone.now() - timedelta(minutes=settings.STALL_MINUTES + 1)
    GenerationTask.objects.filter(pk=task.pk).update(updated_at=quiet_since)

    html, sql = live(client, task)

    assert 'id="stall-banner"' in html
    assert len([query for query in sql if '"generation_units"' in query and "lease_until" in query]) == 1
