"""Every custom admin action asks for its own permission: a staff user who may only view changes nothing (no row,
no file, no queued job) and is not offered the action; a user given the action's permission runs it. Deleting asks
for delete, changing for change, and queueing paid work for generation.resume_task or generation.regenerate_persona.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_q.models import OrmQ

from accounts.models import User
from generation.models import FaceCheck, GenerationResult, GenerationTask, PipelineUnit
from siteconfig.models import Config, Settings
from testkit.factories import make_result, make_superuser, make_task, make_user

pytestmark = pytest.mark.django_db

VIEW_EVERYTHING = [
    "generation.view_generationtask", "generation.view_generationresult", "generation.view_facecheck",
    "siteconfig.view_settings", "siteconfig.view_config", "accounts.view_user",
]  # fmt: skip


def staff_with(*permissions: str) -> User:
    user = make_user(is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def stored_file(settings, task: GenerationTask, result: GenerationResult) -> None:
    folder = settings.MEDIA_ROOT / "avatars" / task.task_code / str(result.pk)
    folder.mkdir(parents=True)
    (folder / "base.png").write_bytes(b"png")


def world(settings) -> dict:
    """Everything an action could change: rows and their states, stored files, queued jobs, flags and prompts."""
    files = sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    return {
        "tasks": sorted(GenerationTask.objects.values_list("pk", "status")),
        "results": sorted(GenerationResult.objects.values_list("pk", "bio_x", "base_image_url")),
        "units": sorted(PipelineUnit.objects.values_list("pk", "kind", "state")),
        "face checks": sorted(FaceCheck.objects.values_list("pk", "verdict")),
        "queued jobs": OrmQ.objects.count(),
        "files": files,
        "users": sorted(User.objects.values_list("pk", "is_active")),
        "flags": sorted(Config.objects.values_list("key", "value")),
        "prompts": sorted(Settings.objects.values_list("key", "value")),
    }


@dataclass(frozen=True)
class Case:
    model: type
    action: str
    permission: str  # the one that lets a staff user run it
    selected: Callable  # (settings) -> the pks to select, after making what they need

    def __str__(self) -> str:
        return self.action


def failed_task(settings):
    task = make_task(status="failed")
    PipelineUnit.objects.create(task=task, kind="batch", number=1, size=5, state="failed", note="boom")
    return [task.pk]


def running_task(settings):
    return [make_task(status="generating-data").pk]


def short_task(settings):
    task = make_task(status="completed", number_to_generate=3)
    make_result(task)
    return [task.pk]


def task_with_files(settings):
    task = make_task(status="completed")
    stored_file(settings, task, make_result(task))
    return [task.pk]


def persona(settings):
    return [make_result(make_task(status="completed")).pk]


def persona_with_files(settings):
    task = make_task(status="completed")
    result = make_result(task)
    stored_file(settings, task, result)
    return [result.pk]


def photo_check(settings):
    result = make_result(make_task(status="completed"))
    return [FaceCheck.objects.create(result=result, position=1, image_url=result.images[0], faces=1, verdict="ok").pk]


def edited_prompt(settings):
    Settings.set_value("bio_prompt_x", "edited")
    return [Settings.objects.get(key="bio_prompt_x").pk]


def flags_off(settings):
    Config.objects.update(value=False)
    return list(Config.objects.values_list("pk", flat=True))


def flags_on(settings):
    Config.objects.update(value=True)
    return list(Config.objects.values_list("pk", flat=True))


def another_user(settings):
    return [make_user().pk]


def inactive_user(settings):
    return [make_user(is_active=False).pk]


CASES = [
    Case(GenerationTask, "retry_tasks", "generation.resume_task", failed_task),
    Case(GenerationTask, "cancel_tasks", "generation.change_generationtask", running_task),
    Case(GenerationTask, "generate_missing", "generation.resume_task", short_task),
    Case(GenerationTask, "delete_tasks", "generation.delete_generationtask", task_with_files),
    Case(GenerationResult, "regenerate_photos", "generation.regenerate_persona", persona),
    Case(GenerationResult, "regenerate_bios", "generation.regenerate_persona", persona),
    Case(GenerationResult, "delete_personas", "generation.delete_generationresult", persona_with_files),
    Case(FaceCheck, "regenerate_photo", "generation.regenerate_persona", photo_check),
    Case(Settings, "restore_defaults", "siteconfig.change_settings", edited_prompt),
    Case(Config, "turn_on", "siteconfig.change_config", flags_off),
    Case(Config, "turn_off", "siteconfig.change_config", flags_on),
    Case(User, "activate_users", "accounts.change_user", inactive_user),
    Case(User, "deactivate_users", "accounts.change_user", another_user),
]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def offered(client, model) -> set[str]:
    form = client.get(changelist(model)).context["action_form"]
    return set() if form is None else {name for name, _ in form.fields["action"].choices}


def run_action(client, case: Case, pks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(changelist(case.model), {"action": case.action, "_selected_action": pks}, follow=True)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_view_only_staff_user_is_not_offered_the_action_and_posting_it_changes_nothing(
    client, settings, case, django_capture_on_commit_callbacks
):
    pks = case.selected(settings)
    client.force_login(staff_with(*VIEW_EVERYTHING))
    assert case.action not in offered(client, case.model)
    before = world(settings)
    response = run_action(client, case, pks, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert world(settings) == before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_staff_user_given_the_actions_permission_runs_it(client, settings, case, django_capture_on_commit_callbacks):
    pks = case.selected(settings)
    client.force_login(staff_with(*VIEW_EVERYTHING, case.permission))
    assert case.action in offered(client, case.model)
    before = world(settings)
    run_action(client, case, pks, django_capture_on_commit_callbacks)
    assert world(settings) != before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_superuser_is_offered_every_action(admin_client, settings, case):
    case.selected(settings)
    assert case.action in offered(admin_client, case.model)


def test_paid_work_is_not_offered_to_a_user_who_may_only_change_or_delete_tasks_and_personas(client):
    make_result(make_task(status="completed"))
    client.force_login(
        staff_with(
            *VIEW_EVERYTHING, "generation.change_generationtask", "generation.delete_generationtask",
            "generation.change_generationresult", "generation.delete_generationresult",
        )
    )  # fmt: skip
    assert offered(client, GenerationTask) >= {"cancel_tasks", "delete_tasks"}
    assert not offered(client, GenerationTask) & {"retry_tasks", "generate_missing"}
    assert not offered(client, GenerationResult) & {"regenerate_photos", "regenerate_bios"}


def test_a_staff_user_who_may_change_users_cannot_deactivate_or_raise_a_superuser(client):
    root = make_superuser()
    operator = staff_with(*VIEW_EVERYTHING, "accounts.change_user", "accounts.delete_user")
    client.force_login(operator)
    response = client.post(changelist(User), {"action": "deactivate_users", "_selected_action": [root.pk]}, follow=True)
    assert "Deactivated 0 user(s). 1 left active" in response.content.decode()
    change = reverse("admin:accounts_user_change", args=[root.pk])
    assert client.post(change, {"email": root.email, "is_active": "", "is_superuser": "on"}).status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert client.post(password, {"password1": "x" * 20, "password2": "x" * 20}).status_code == 403
    assert client.post(reverse("admin:accounts_user_delete", args=[root.pk]), {"post": "yes"}).status_code == 403
    root.refresh_from_db()
    assert root.is_active and root.check_password("correct horse battery")
    # Nor can they make themselves (or anyone) a superuser from their own page.
    own = reverse("admin:accounts_user_change", args=[operator.pk])
    response = client.post(own, {"email": operator.email, "is_active": "on", "is_staff": "on", "is_superuser": "on"})
    assert response.status_code == 302  # saved, but for the flag it may not set
    operator.refresh_from_db()
    assert not operator.is_superuser


def test_a_staff_user_who_may_change_users_cannot_grant_permissions_or_groups_themselves_included(client):
    operator = staff_with(*VIEW_EVERYTHING, "accounts.change_user")
    colleague = staff_with("generation.view_generationtask")
    group = Group.objects.create(name="Paid work")
    group.permissions.set(Permission.objects.all())
    client.force_login(operator)
    everything = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]
    for user in (operator, colleague):
        page = reverse("admin:accounts_user_change", args=[user.pk])
        sent = {"email": user.email, "is_active": "on", "is_staff": "on", "groups": [group.pk]}
        assert client.post(page, sent | {"user_permissions": everything}).status_code == 302
    assert set(operator.user_permissions.values_list("codename", flat=True)) == {
        name.split(".")[1] for name in (*VIEW_EVERYTHING, "accounts.change_user")
    }
    assert list(colleague.user_permissions.values_list("codename", flat=True)) == ["view_generationtask"]
    assert not operator.groups.exists() and not colleague.groups.exists()


def test_a_view_only_staff_user_cannot_flip_the_flags_from_the_list_or_restore_a_prompt(client, settings):
    client.force_login(staff_with(*VIEW_EVERYTHING))
    before = world(settings)
    flags = list(Config.objects.order_by("key"))
    data = {"form-TOTAL_FORMS": str(len(flags)), "form-INITIAL_FORMS": str(len(flags)), "_save": "Save"}
    for n, flag in enumerate(flags):
        data |= {f"form-{n}-id": str(flag.pk), f"form-{n}-value": "on"}
    assert client.post(changelist(Config), data).status_code == 403
    assert world(settings) == before
    Settings.set_value("bio_prompt_x", "edited")
    before = world(settings)
    prompt = Settings.objects.get(key="bio_prompt_x")
    restore = reverse("admin:siteconfig_settings_restore_default", args=[prompt.pk])
    assert client.post(restore).status_code == 403
    assert world(settings) == before
