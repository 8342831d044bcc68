"""The admin's task list fits its 790 px container: a title from the description with the task code as a chip, a
coloured status badge, progress linked to the results, a relative time and the task's page on the site."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generation.admin.base import BADGE_COLOURS
from generation.admin.tasks import GenerationTaskAdmin
from generation.models import GenerationTask
from testkit.factories import make_result, make_task, make_user
from tests.generation.helpers import submit

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/generation/generationtask/"


def column_headers(html: str) -> list[str]:
    return re.findall(r'<th scope="col" class="[^"]*?\b((?:column-|action-checkbox-)[\w-]+)', html)


def row_of(html: str, task: GenerationTask) -> str:
    """The list's <tr> of one task (found by its checkbox)."""
    start = html.index(f'value="{task.pk}" class="action-select"')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_the_task_list_has_five_columns_besides_the_checkbox(admin_client):
    make_task()
    html = admin_client.get(LIST_URL).content.decode()
    assert column_headers(html) == [
        "action-checkbox-column", "column-title", "column-status_badge", "column-progress_link", "column-created",
        "column-site_link",
    ]  # fmt: skip
    assert GenerationTaskAdmin.list_display == ("title", "status_badge", "progress_link", "created", "site_link")


def test_a_task_is_titled_by_its_description_cut_short_with_its_code_as_a_chip_and_its_owner(admin_client):
    owner = make_user("rita@example.com")
    task = make_task(
        user=owner, persona_description="Beekeepers in the Jura who sell honey at weekend markets and post reels"
    )
    row = row_of(admin_client.get(LIST_URL).content.decode(), task)
    title = re.search(r'<th class="field-title"><a [^>]*>([^<]*)<br>', row).group(1)
    assert title.startswith("Beekeepers in the Jura who sell honey") and title.endswith("…")
    assert len(title) == 60 and "post reels" not in row
    assert re.search(rf'<span style="font-family:monospace[^"]*">{task.task_code}</span>', row)
    assert "rita@<wbr>example.<wbr>com" in row  # the owner, wrapping only after "@" and dots
    # The title is the link to the task's admin page.
    assert f'href="{reverse("admin:generation_generationtask_change", args=[task.pk])}"' in row


@pytest.mark.parametrize("status", [s.value for s in GenerationTask.Status], ids=str)
def test_each_status_is_a_coloured_badge_and_cancelled_is_grey(admin_client, status):
    task = make_task(status=status)
    row = row_of(admin_client.get(LIST_URL).content.decode(), task)
    background, colour = BADGE_COLOURS[status]
    label = GenerationTask.Status(status).label
    assert re.search(rf'<span style="[^"]*background:{background};color:{colour}">{label}</span>', row)
    if status == "cancelled":
        assert (background, colour) == ("#e5e7eb", "#374151")
        assert not set(BADGE_COLOURS[GenerationTask.Status.FAILED]) & {background, colour}


def test_progress_reads_done_with_data_asked_and_opens_the_tasks_results(admin_client):
    task = make_task(number_to_generate=3)
    make_result(task)
    make_result(task, images=None)
    row = row_of(admin_client.get(LIST_URL).content.decode(), task)
    results = f"{reverse('admin:generation_generationresult_changelist')}?task__id__exact={task.pk}"
    assert re.search(rf'<a href="{re.escape(results)}"[^>]*>1 / 2 / 3</a>', row)


def test_created_is_shown_relative_with_the_exact_time_on_hover(admin_client):
    task = make_task()
    created = timezone.now() - timedelta(hours=3, minutes=5)
    GenerationTask.objects.filter(pk=task.pk).update(created_at=created)
    row = row_of(admin_client.get(LIST_URL).content.decode(), task)
    assert "3\xa0hours ago" in row  # naturaltime keeps the number and its unit together
    assert f'title="{timezone.localtime(created):%Y-%m-%d %H:%M}"' in row


def test_each_row_and_the_change_page_link_to_the_task_on_the_site(admin_client):
    task = make_task()
    site = reverse("task_detail", kwargs={"task_code": task.task_code})
    row = row_of(admin_client.get(LIST_URL).content.decode(), task)
    assert f'<a href="{site}" aria-label="View task {task.task_code} on the site"' in row
    page = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk]))
    assert page.context["has_absolute_url"] and page.context["absolute_url"] == site
    assert f'href="{site}" class="viewsitelink"' in page.content.decode()
    assert admin_client.get(site).status_code == 200  # a superuser sees everyone's tasks


def test_the_change_page_shows_the_status_badge_progress_and_results_link(admin_client):
    task = make_task(status="cancelled", number_to_generate=2)
    make_result(task)
    html = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk])).content.decode()
    assert ">Cancelled</span>" in html
    assert "1 / 1 / 2" in html
    assert "View 1 result(s)" in html


def test_task_search_matches_a_whole_code_in_any_case_or_words_of_the_description(admin_client):
    surfers = make_task(persona_description="Surfers from Biarritz who work remotely")
    other = make_task(persona_description="Nurses on night shifts in Manchester")

    def found(q):
        return [t.pk for t in admin_client.get(LIST_URL, {"q": q}).context["cl"].result_list]

    assert found("biarritz") == [surfers.pk]
    assert found("SURFERS remotely") == [surfers.pk]
    assert found(other.task_code) == [other.pk]
    assert found(other.task_code.upper()) == [other.pk]
    assert found("biarritz manchester") == []


def test_the_task_page_shows_the_ages_gender_country_and_seed_it_asked_for(admin_client):
    task = submit(user=make_user(), age_min=25, age_max=40, gender="f", country="PT", seed=1234)
    html = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk])).content.decode()
    people = html.split("People asked for")[1]
    for shown in ("25–40", "Women", "Portugal (PT)", "1234"):
        assert shown in people, shown
    assert "the defaults" not in people


def test_a_task_made_before_requests_were_stored_shows_the_defaults_it_reads_as(admin_client):
    task = make_task()
    html = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk])).content.decode()
    people = html.split("People asked for")[1]
    assert "20–60 (the defaults: the task stores no request)" in people
    assert "Women and men" in people and "The bio language&#x27;s own" in people
