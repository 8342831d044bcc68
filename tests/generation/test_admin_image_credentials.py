"""The admin's Content Credentials record: a read-only list of every stored file's verdict, newest checked first,
filtered by verdict, checker and day, found by task id, key or manifest label through indexes, and linked from the
task's admin page."""

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from generation.admin.provenance import ImageCredentialAdmin
from generation.integrations import storage
from generation.integrations.provenance.records import VERIFYING
from generation.models import ImageCredential
from testkit.faces import astronaut
from testkit.factories import PhotoSet, make_stored_result, make_task
from tests.conftest import requires_postgresql
from tests.generation.helpers import used_indexes

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:generation_imagecredential_changelist")


@pytest.fixture(scope="module")
def photos():
    return PhotoSet.of(astronaut())


def stored(photos, tiles: int = 1):
    """A task with one persona stored and signed: its base and `tiles` tiles, each with its thumbnails."""
    task = make_task(status="completed")
    return task, make_stored_result(task, photos, tiles=tiles)


def listed(client, **params) -> list[str]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return [credential.key for credential in response.context["cl"].result_list]


def keys_of(task) -> list[str]:
    return sorted(ImageCredential.objects.filter(task=task).values_list("key", flat=True))


def change_url(credential) -> str:
    return reverse("admin:generation_imagecredential_change", args=[credential.pk])


def test_the_list_shows_each_stored_file_with_a_verdict_badge_its_task_code_linked_and_its_size(admin_client, photos):
    task, result = stored(photos)
    credential = ImageCredential.objects.get(key=storage.key_from_url(result.base_image_url))
    html = admin_client.get(LIST_URL).content.decode()
    assert sorted(listed(admin_client)) == keys_of(task) and len(keys_of(task)) == 2 * 3  # base, tile; 2 thumbnails
    shown = credential.key.replace("/", "/<wbr>")  # free to break after a slash, to fit beside the filters
    assert f'<a href="{change_url(credential)}">{shown}</a>' in html
    assert 'background:#dcfce7;color:#14532d">Verified</span>' in html
    task_admin = reverse("admin:generation_generationtask_change", args=[task.pk])
    assert f'<a href="{task_admin}">{task.task_code}</a>' in html
    assert credential.signer and credential.signer not in html  # the same on every row: on the change page only
    assert f"{credential.size / 1024:,.1f}" in html
    assert 'title="' + f"{timezone.localtime(credential.checked_at):%Y-%m-%d %H:%M}" in html


def test_the_list_is_newest_checked_first(admin_client, photos):
    task, _ = stored(photos, tiles=0)
    rows = list(ImageCredential.objects.filter(task=task).order_by("id"))
    for hours, row in enumerate(rows):  # the first stored was checked most recently
        ImageCredential.objects.filter(pk=row.pk).update(checked_at=timezone.now() - timedelta(hours=hours))
    assert listed(admin_client) == [row.key for row in rows]


def test_filtering_by_verdict_lists_only_the_files_with_that_verdict(admin_client, photos):
    task, result = stored(photos, tiles=0)
    broken = storage.key_from_url(result.base_image_url)
    ImageCredential.objects.filter(key=broken).update(verdict="invalid", problem="the signature does not match")
    assert listed(admin_client, verdict__exact="invalid") == [broken]
    assert sorted(listed(admin_client, verdict__exact="verified")) == [key for key in keys_of(task) if key != broken]
    assert listed(admin_client, verdict__exact="missing") == []
    html = admin_client.get(LIST_URL, {"verdict__exact": "invalid"}).content.decode()
    assert 'background:#fee2e2;color:#7f1d1d">Invalid</span>' in html


def test_filtering_by_checker_and_by_day_lists_only_the_matching_files(admin_client, photos):
    task, result = stored(photos, tiles=0)
    base = storage.key_from_url(result.base_image_url)
    ImageCredential.objects.filter(key=base).update(checked_by=VERIFYING)
    ImageCredential.objects.exclude(key=base).update(checked_at=timezone.now() - timedelta(days=40))
    assert listed(admin_client, checked_by=VERIFYING) == [base]
    assert sorted(listed(admin_client, checked_by="storing")) == [key for key in keys_of(task) if key != base]
    changelist = admin_client.get(LIST_URL).context["cl"]
    by_day = changelist.filter_specs[-1].choices(changelist)  # the "checked at" filter's links
    today = next(choice for choice in by_day if choice["display"] == "Today")["query_string"]
    assert [credential.key for credential in admin_client.get(LIST_URL + today).context["cl"].result_list] == [base]


def test_searching_a_task_id_in_any_case_lists_only_that_tasks_files(admin_client, photos):
    task, _ = stored(photos, tiles=0)
    stored(photos, tiles=0)
    assert sorted(listed(admin_client, q=task.task_code)) == keys_of(task)
    assert sorted(listed(admin_client, q=task.task_code.upper())) == keys_of(task)


def test_searching_a_key_its_folder_or_its_url_or_a_manifest_label_finds_those_files(admin_client, photos):
    task, result = stored(photos, tiles=1)
    stored(photos, tiles=0)
    base = storage.key_from_url(result.base_image_url)
    assert listed(admin_client, q=base) == [base]
    assert listed(admin_client, q=result.base_image_url) == [base]
    assert sorted(listed(admin_client, q=storage.result_prefix(task.task_code, result.pk))) == keys_of(task)
    label = ImageCredential.objects.get(key=base).manifest_label
    assert label.startswith("urn:")
    assert listed(admin_client, q=label) == [base]


def test_the_change_page_shows_every_field_as_text_and_the_problems_one_a_line(admin_client, photos):
    task, result = stored(photos, tiles=0)
    credential = ImageCredential.objects.get(key=storage.key_from_url(result.base_image_url))
    ImageCredential.objects.filter(pk=credential.pk).update(
        verdict="missing", problem="no Content Credentials (the manifest is missing or was stripped); size differs"
    )
    page = admin_client.get(change_url(credential))
    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    assert "<textarea" not in html and '<input type="text"' not in html and 'name="_save"' not in html
    for value in (credential.key, credential.sha256, credential.manifest_label, credential.signer, "storing"):
        assert value in html
    assert 'background:#fef3c7;color:#78350f">Missing</span>' in html
    problems = re.findall(r"<li[^>]*>(.*?)</li>", html[html.index("Problems:") :])[:2]
    assert problems == ["no Content Credentials (the manifest is missing or was stripped)", "size differs"]
    assert f'<a href="{reverse("admin:generation_generationtask_change", args=[task.pk])}">{task.task_code}</a>' in html
    assert reverse("admin:generation_generationresult_change", args=[result.pk]) in html
    assert f'<a href="{storage.url(credential.key)}" target="_blank" rel="noopener">Open the file</a>' in html


def test_nobody_can_add_edit_or_delete_a_credential_row_in_the_admin(admin_client, photos):
    stored(photos, tiles=0)
    credential = ImageCredential.objects.first()
    listing = admin_client.get(LIST_URL)
    assert not listing.context["has_add_permission"]
    assert reverse("admin:generation_imagecredential_add") not in listing.content.decode()
    assert listing.context["action_form"] is None  # no "delete selected", no action at all
    assert admin_client.get(reverse("admin:generation_imagecredential_add")).status_code == 403
    delete = reverse("admin:generation_imagecredential_delete", args=[credential.pk])
    assert delete not in admin_client.get(change_url(credential)).content.decode()
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.post(change_url(credential), {"verdict": "verified", "key": "x"}).status_code == 403
    assert ImageCredential.objects.filter(pk=credential.pk, key=credential.key).exists()


def test_the_task_page_links_to_the_credentials_of_its_files_and_that_list_holds_only_them(admin_client, photos):
    task, _ = stored(photos, tiles=0)
    stored(photos, tiles=0)
    html = admin_client.get(reverse("admin:generation_generationtask_change", args=[task.pk])).content.decode()
    link = f"{LIST_URL}?task__id__exact={task.pk}"
    assert f'<a href="{link}">Content Credentials of its files</a>' in html
    assert sorted(listed(admin_client, task__id__exact=task.pk)) == keys_of(task)


@requires_postgresql
def test_a_search_by_task_id_or_key_reads_the_task_and_key_indexes_not_every_row():
    model_admin = ImageCredentialAdmin(ImageCredential, admin_site=None)
    request = RequestFactory().get("/", {"q": "3f9a2c1b"})
    queryset, _ = model_admin.get_search_results(request, ImageCredential.objects.order_by(), "3f9a2c1b")
    used = used_indexes(queryset)
    assert "generation_credentials_task" in used
    assert any(name.startswith("generation_image_credentials_key_") and name.endswith("_like") for name in used), used
