"""The admin is the operators' console: every page answers, list pages cost a constant number of
queries, and the actions do what they say."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from generation.integrations.storage import thumbnail_url
from generation.models import GenerationResult, GenerationTask, PipelineUnit
from siteconfig.defaults import CONFIG_FLAG_HELP, DEFAULT_BIO_PROMPTS, DEFAULT_CONFIG_FLAGS, LATER_CONFIG_FLAGS
from siteconfig.models import Config, Settings
from testkit.factories import make_result, make_task, make_user
from tests.conftest import requires_postgresql

pytestmark = pytest.mark.django_db

MODELS = [User, Settings, Config, GenerationTask, GenerationResult]
# Machine-made rows and the four platform prompts are offered no Add (tests/generation/test_admin_machine_made.py).
ADDABLE = [User, Config]


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def make_rows(count):
    """`count` users, tasks and results (each task with one result)."""
    for _ in range(count):
        make_result(make_task(user=make_user()))


def some_object(model):
    if model is GenerationResult:
        return make_result(make_task())
    if model is GenerationTask:
        return make_task()
    if model is User:
        return make_user()
    return model.objects.first()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_pages_answer_200(admin_client, model):
    obj = some_object(model)
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", ADDABLE, ids=lambda m: m.__name__)
def test_add_pages_of_what_people_make_answer_200(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, model):
    make_rows(1)
    if model in (Settings, Config):
        model.objects.create(key="extra_0", value=True if model is Config else "x")
    url = admin_url(model, "changelist")
    admin_client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url).status_code == 200
    make_rows(49)
    if model in (Settings, Config):
        for n in range(1, 50):
            model.objects.create(key=f"extra_{n}", value=True if model is Config else "x")
    with CaptureQueriesContext(connection) as fifty_rows:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 50
    assert len(fifty_rows) == len(one_row), [q["sql"] for q in fifty_rows]


def test_add_user_page_creates_a_staff_user_with_a_password(admin_client):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "New.Staff@Example.com",
            "password1": "a long enough secret",
            "password2": "a long enough secret",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.staff@example.com")
    assert user.is_staff and user.check_password("a long enough secret")


def test_deactivate_action_blocks_others_but_not_yourself(admin_client, superuser):
    other = make_user()
    response = admin_client.post(
        admin_url(User, "changelist"),
        {"action": "deactivate_users", "_selected_action": [other.pk, superuser.pk]},
        follow=True,
    )
    assert "Deactivated 1 user(s)" in response.content.decode()
    other.refresh_from_db()
    superuser.refresh_from_db()
    assert not other.is_active and superuser.is_active


def test_config_flags_are_toggled_from_the_list(admin_client):
    flags = list(Config.objects.order_by("key"))
    data = {
        "form-TOTAL_FORMS": str(len(flags)),
        "form-INITIAL_FORMS": str(len(flags)),
        "_save": "Save",
    }
    for n, flag in enumerate(flags):
        data[f"form-{n}-id"] = str(flag.pk)
        if flag.key == "randomize_face_base":
            data[f"form-{n}-value"] = "on"
    response = admin_client.post(admin_url(Config, "changelist"), data)
    assert response.status_code == 302
    assert Config.get_value("randomize_face_base") is True
    assert Config.get_value("randomize_face_gender_lock") is False


def test_bio_prompt_is_edited_in_a_large_text_area_and_its_key_is_read_only(admin_client):
    prompt = Settings.objects.get(key="bio_prompt_x")
    response = admin_client.get(admin_url(Settings, "change", prompt.pk))
    html = response.content.decode()
    assert 'rows="16"' in html and 'name="value"' in html
    assert 'name="key"' not in html
    response = admin_client.post(admin_url(Settings, "change", prompt.pk), {"value": "Short and dry."})
    assert response.status_code == 302
    assert Settings.get_value("bio_prompt_x") == "Short and dry."


def test_restore_defaults_action_puts_back_the_default_prompt(admin_client):
    Settings.set_value("bio_prompt_x", "edited")
    prompt = Settings.objects.get(key="bio_prompt_x")
    admin_client.post(
        admin_url(Settings, "changelist"), {"action": "restore_defaults", "_selected_action": [prompt.pk]}
    )
    assert "160" in Settings.get_value("bio_prompt_x")


def test_task_list_shows_progress_and_links_to_its_results_in_one_click(admin_client):
    task = make_task(number_to_generate=3)
    make_result(task)
    make_result(task, images=None)
    other_task_result = make_result(make_task())
    response = admin_client.get(admin_url(GenerationTask, "changelist"))
    html = response.content.decode()
    assert "1 / 2 / 3" in html
    link = f"{admin_url(GenerationResult, 'changelist')}?task__id__exact={task.pk}"
    assert link.replace("&", "&amp;") in html
    results_page = admin_client.get(link)
    assert results_page.status_code == 200
    assert {r.pk for r in results_page.context["cl"].result_list} == set(task.results.values_list("pk", flat=True))
    assert other_task_result.pk not in {r.pk for r in results_page.context["cl"].result_list}


def test_task_list_filters_by_status_and_user_and_searches_task_id_and_description(admin_client):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    surfers = make_task(user=alice, persona_description="Surfers from Biarritz")
    failed = make_task(user=bob, status="failed")
    url = admin_url(GenerationTask, "changelist")
    assert [t.pk for t in admin_client.get(url, {"status__exact": "failed"}).context["cl"].result_list] == [failed.pk]
    assert [t.pk for t in admin_client.get(url, {"user__id__exact": alice.pk}).context["cl"].result_list] == [
        surfers.pk
    ]
    assert [t.pk for t in admin_client.get(url, {"q": "biarritz"}).context["cl"].result_list] == [surfers.pk]
    assert [t.pk for t in admin_client.get(url, {"q": failed.task_code}).context["cl"].result_list] == [failed.pk]


def test_result_pages_show_the_base_and_every_image_as_read_only_thumbnails(admin_client):
    result = make_result(make_task())
    listing = admin_client.get(admin_url(GenerationResult, "changelist")).content.decode()
    # Each shows its 256 px WebP thumbnail, with the 512 px one for 2x screens; the link opens the full size.
    assert f'src="{thumbnail_url(result.base_image_url, 256)}"' in listing
    html = admin_client.get(admin_url(GenerationResult, "change", result.pk)).content.decode()
    for url in result.images:
        assert f'<a href="{url}" target="_blank" rel="noopener"><img src="{thumbnail_url(url, 256)}"' in html
        assert f"{thumbnail_url(url, 512)} 512w" in html
    assert 'name="images"' not in html


def test_the_pipeline_units_page_lists_units_read_only(admin_client):
    task = make_task()
    unit = PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5, state="failed", note="boom")
    html = admin_client.get(reverse("admin:generation_pipelineunit_changelist")).content.decode()
    assert "boom" in html
    assert admin_client.get(reverse("admin:generation_pipelineunit_add")).status_code == 403
    page = admin_client.get(reverse("admin:generation_pipelineunit_change", args=[unit.pk]))
    assert page.status_code == 200 and 'name="note"' not in page.content.decode()


def test_the_retry_action_resumes_a_failed_task_and_says_so(admin_client):
    task = make_task(status="failed")
    PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5, state="failed", note="boom")
    response = admin_client.post(
        admin_url(GenerationTask, "changelist"),
        {"action": "retry_tasks", "_selected_action": [task.pk]},
        follow=True,
    )
    assert f"Retried 1 task(s): {task.task_code}." in response.content.decode()
    task.refresh_from_db()
    assert task.status == "generating-data"


def test_the_persona_actions_queue_new_photos_and_bios_and_delete_with_files(admin_client):
    task = make_task(status="completed")
    first, second = make_result(task), make_result(task)
    url = admin_url(GenerationResult, "changelist")
    response = admin_client.post(url, {"action": "regenerate_photos", "_selected_action": [first.pk]}, follow=True)
    assert "New photos asked for 1 persona(s)" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "generating-images"
    # New bios belong to the data stage: they wait until the photos are done, and the page says so.
    response = admin_client.post(url, {"action": "regenerate_bios", "_selected_action": [first.pk]}, follow=True)
    assert "is generating images; try again once it has ended" in response.content.decode()
    assert list(task.units.values_list("kind", "result_id")) == [("photos", first.pk)]

    other = make_task(status="completed")
    doomed = make_result(other)
    response = admin_client.post(url, {"action": "delete_personas", "_selected_action": [doomed.pk]}, follow=True)
    assert "Deleted 1 persona(s)" in response.content.decode()
    assert not GenerationResult.objects.filter(pk=doomed.pk).exists()
    assert "delete_selected" not in admin_client.get(url).context["action_form"].fields["action"].choices.__str__()
    assert second.pk in GenerationResult.objects.values_list("pk", flat=True)


def test_result_search_over_all_results_matches_a_task_id(admin_client):
    wanted = make_result(make_task(), firstname="Zelda")
    make_result(make_task(), firstname="Zelda")
    url = admin_url(GenerationResult, "changelist")
    by_task = admin_client.get(url, {"q": wanted.task.task_code}).context["cl"].result_list
    assert [r.pk for r in by_task] == [wanted.pk]


def test_result_search_within_one_task_matches_names(admin_client):
    task = make_task()
    zelda, _ = make_result(task, firstname="Zelda"), make_result(task, firstname="Ada")
    make_result(make_task(), firstname="Zelda")
    response = admin_client.get(admin_url(GenerationResult, "changelist"), {"task__id__exact": task.pk, "q": "zelda"})
    assert [r.pk for r in response.context["cl"].result_list] == [zelda.pk]


@requires_postgresql
def test_large_admin_lists_show_the_planners_estimate_instead_of_counting(monkeypatch):
    from generation.admin import base as generation_admin

    task = make_task()
    for _ in range(3):
        make_result(task)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE generation_results")
    queryset = GenerationResult.objects.all()
    estimate = generation_admin.planned_rows(queryset)
    assert isinstance(estimate, int) and estimate >= 1
    monkeypatch.setattr(generation_admin, "ESTIMATED_COUNT_FROM", 1)
    with CaptureQueriesContext(connection) as queries:
        count = generation_admin.EstimatedCountPaginator(queryset, 50).count
    assert count == estimate
    assert not any("COUNT(" in q["sql"].upper() for q in queries)
    monkeypatch.setattr(generation_admin, "ESTIMATED_COUNT_FROM", 10**9)
    assert generation_admin.EstimatedCountPaginator(queryset, 50).count == 3


# --- Bio prompts, config flags and the index ---------------------------------------------------------------------


def restore_url(prompt):
    return reverse("admin:siteconfig_settings_restore_default", args=[prompt.pk])


def test_an_edited_bio_prompt_offers_restore_default_which_puts_the_default_back(admin_client):
    Settings.set_value("bio_prompt_tiktok", "Say nothing.")
    prompt = Settings.objects.get(key="bio_prompt_tiktok")
    page = admin_client.get(admin_url(Settings, "change", prompt.pk)).content.decode()
    assert f'action="{restore_url(prompt)}"' in page and "Restore default</button>" in page

    response = admin_client.post(restore_url(prompt), follow=True)
    assert "Restored the default text of bio_prompt_tiktok." in response.content.decode()
    assert Settings.get_value("bio_prompt_tiktok") == DEFAULT_BIO_PROMPTS["bio_prompt_tiktok"]
    # Once it is the default again, there is nothing to restore.
    assert "Restore default</button>" not in response.content.decode()


def test_restore_default_only_answers_a_post(admin_client):
    Settings.set_value("bio_prompt_x", "edited")
    prompt = Settings.objects.get(key="bio_prompt_x")
    assert admin_client.get(restore_url(prompt)).status_code == 405
    assert Settings.get_value("bio_prompt_x") == "edited"


def test_a_bio_prompt_page_previews_the_messages_the_model_is_sent(admin_client):
    Settings.set_value("bio_prompt_instagram", "Three lines, one emoji, no hashtags.")
    prompt = Settings.objects.get(key="bio_prompt_instagram")
    page = admin_client.get(admin_url(Settings, "change", prompt.pk)).content.decode()
    assert "What the model is sent" in page
    # The pipeline's own framing around the saved prompts, for the sample request.
    assert "You write realistic, plainly fictional people" in page
    assert "Who they are: Amateur cyclists in their thirties who live in Lyon" in page
    assert "Write every text in French" in page
    assert "Where they live: France." in page and "&quot;firstname&quot;: &quot;Camille&quot;" in page
    assert "- bio_instagram (never more than 150 characters, spaces and emojis included): Three lines" in page
    assert "Give exactly 5 people, one for each given above." in page


def test_the_four_platform_prompts_offer_no_add_and_no_delete(admin_client):
    changelist = admin_client.get(admin_url(Settings, "changelist"))
    html = changelist.content.decode()
    assert admin_url(Settings, "add") not in html
    assert "delete_selected" not in changelist.context["action_form"].fields["action"].choices.__str__()
    assert admin_client.get(admin_url(Settings, "add")).status_code == 403
    for prompt in Settings.objects.filter(key__in=DEFAULT_BIO_PROMPTS):
        assert (
            admin_url(Settings, "delete", prompt.pk)
            not in admin_client.get(admin_url(Settings, "change", prompt.pk)).content.decode()
        )
        assert admin_client.post(admin_url(Settings, "delete", prompt.pk), {"post": "yes"}).status_code == 403
    assert Settings.objects.filter(key__in=DEFAULT_BIO_PROMPTS).count() == 4


def test_each_config_flag_explains_itself_in_the_list_and_on_its_page(admin_client):
    assert set(CONFIG_FLAG_HELP) == set(DEFAULT_CONFIG_FLAGS) | set(LATER_CONFIG_FLAGS)
    assert Config.objects.count() == len(CONFIG_FLAG_HELP)
    listing = admin_client.get(admin_url(Config, "changelist")).content.decode()
    for flag in Config.objects.all():
        assert escape(CONFIG_FLAG_HELP[flag.key]) in listing
        page = admin_client.get(admin_url(Config, "change", flag.pk))
        assert page.context["adminform"].form.fields["value"].help_text == CONFIG_FLAG_HELP[flag.key]
        assert CONFIG_FLAG_HELP[flag.key] in page.content.decode()  # the admin shows help texts as they are


def test_the_index_names_django_q2s_group_as_the_background_job_queue(admin_client):
    index = admin_client.get(reverse("admin:index"))
    groups = {app["app_label"]: app["name"] for app in index.context["app_list"]}
    assert groups["django_q"] == "Background job queue (django-q2)"
    assert "Background jobs</a>" not in index.content.decode()
    # Our own tasks keep their own group, apart from it.
    assert groups["generation"] == "Generation"
