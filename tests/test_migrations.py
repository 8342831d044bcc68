"""The Django migrations reproduce the documented Alembic chain, in order, with their data steps,
and every one of them reverses."""

import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from siteconfig.defaults import DEFAULT_BIO_PROMPTS, DEFAULT_CONFIG_FLAGS, LATER_CONFIG_FLAGS

CHAIN = [
    ("accounts", "0001_initial", "25698f3f906f"),
    ("siteconfig", "0001_create_settings_table", "d8cfd3cb4083"),
    ("generation", "0001_create_generation_tasks_table", "3a0f944324eb"),
    ("generation", "0002_create_generation_results_table", "3d677a879bd9"),
    ("generation", "0003_add_s3_image_url_fields_to_generation_results", "36b6aa503da9"),
    ("generation", "0004_convert_image_urls_to_jsonb_array", "30c18b6939ce"),
    ("siteconfig", "0002_create_config_table_for_boolean_settings", "d59663db64e2"),
]
# The original app's six revisions after the document (original-app-later-revisions.md), in their order.
LATER = [
    ("siteconfig", "0003_add_crop_white_borders_config", "70c50b9233b6"),
    ("siteconfig", "0004_add_randomize_image_style_config", "d8982580d2a4"),
    ("siteconfig", "0005_add_max_concurrent_tasks_setting", "7e1fabd32d40"),
    ("siteconfig", "0006_create_int_config_table_and_migrate_max_concurrent", "8a3b5c7d9e0f"),
    ("generation", "0026_add_supplementary_persona_fields_job_education_location_about", "7e69fd85074a"),
    ("generation", "0027_add_ethnicity_and_age_to_generation_results", "fbc78f685fa2"),
]
OUR_APPS = {"accounts", "siteconfig", "generation"}
BEFORE_JSONB = ("generation", "0003_add_s3_image_url_fields_to_generation_results")
JSONB = ("generation", "0004_convert_image_urls_to_jsonb_array")


DJANGO_ONLY = [
    ("accounts", "0002_add_staff_flags_and_permissions"),
    ("generation", "0005_pipeline_units_and_rate_slots"),
    ("generation", "0006_stall_sweep_schedule"),
    ("generation", "0007_task_code_name_in_code"),
    ("generation", "0008_unit_leases"),
    ("generation", "0009_sweep_every_half_minute"),
    ("generation", "0010_face_checks"),
    ("generation", "0011_operator_actions"),
    ("generation", "0012_twenty_images_per_persona"),
    ("generation", "0013_cancelled_status_and_task_runs"),
    ("generation", "0014_trigram_search_indexes"),
    ("generation", "0015_api_call_record"),
    ("generation", "0016_budgets_and_daily_usage"),
    ("generation", "0017_image_credentials"),
    ("generation", "0018_export_builds"),
    ("generation", "0019_budgets_no_cap_is_empty"),
    ("generation", "0020_budgets_empty_instead_of_zero_or_negative"),
    ("generation", "0021_budgets_not_negative"),
    ("generation", "0022_task_submissions"),
    ("generation", "0023_action_permissions"),
    ("generation", "0024_api_call_list_indexes"),
    ("generation", "0025_jobs_live_in_services"),
    ("generation", "0028_profile_search_indexes"),
    ("generation", "0029_task_requests_and_persona_details"),
]
BUDGETS_NULLABLE = ("generation", "0019_budgets_no_cap_is_empty")
STAFF_FLAGS = ("accounts", "0002_add_staff_flags_and_permissions")
BUDGETS_NOT_NEGATIVE = ("generation", "0021_budgets_not_negative")


def test_the_plan_applies_the_documented_chain_in_order_then_django_only_steps():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        plan += [key for key in loader.graph.forwards_plan(leaf) if key not in plan]
    ours = [key for key in plan if key[0] in OUR_APPS]
    chain = [(app, name) for app, name, _ in CHAIN]
    later = [(app, name) for app, name, _ in LATER]
    assert [key for key in ours if key in chain] == chain
    assert [key for key in ours if key in later] == later
    assert sorted(key for key in ours if key not in chain + later) == sorted(DJANGO_ONLY)
    for key in DJANGO_ONLY + later:
        assert plan.index(key) > plan.index(chain[-1]), key


@pytest.mark.parametrize(("app", "name", "revision"), CHAIN + LATER)
def test_each_migration_names_its_alembic_revision(app, name, revision):
    module = importlib.import_module(f"{app}.migrations.{name}")
    assert f"Alembic {revision}" in module.__doc__


def test_the_reverted_revision_is_not_reproduced():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for key, migration in loader.disk_migrations.items():
        assert "9d413bd6c3bd" not in (importlib.import_module(migration.__module__).__doc__ or "").split("(")[0], key


def migrate(executor, targets):
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    applied = [target for target in targets if target[1] is not None]
    return executor.loader.project_state(applied).apps if applied else None


def latest_targets(executor):
    executor.loader.build_graph()
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def executor(transactional_db):
    executor = MigrationExecutor(connection)
    yield executor
    migrate(executor, latest_targets(executor))


def seed_legacy_rows(apps):
    """A user, a task and results with 0 to 4 image URLs (some with gaps), as the app stored them
    before 30c18b6939ce."""
    User = apps.get_model("accounts", "User")
    Task = apps.get_model("generation", "GenerationTask")
    Result = apps.get_model("generation", "GenerationResult")
    user = User.objects.create(email="legacy@example.com", password="!")
    # Before 0007 the public code's field was still called `task_id` in the migration state.
    task = Task.objects.create(
        task_id="legacy01", user=user, persona_description="d", bio_language="English", number_to_generate=5,
        images_per_persona=4,
    )  # fmt: skip
    layouts = {
        "none": [None, None, None, None],
        "one": ["u1", None, None, None],
        "gap": ["u1", None, "u3", None],
        "three": [None, "u2", "u3", "u4"],
        "four": ["u1", "u2", "u3", "u4"],
    }
    for name, urls in layouts.items():
        Result.objects.create(
            task=task, batch_number=1, firstname=name, lastname="x", gender="f", base_image_url=f"base-{name}",
            **{f"image_{n}_url": url for n, url in enumerate(urls, 1)},
        )  # fmt: skip
    return layouts


def test_jsonb_migration_moves_urls_in_order_and_back(executor):
    old_apps = migrate(executor, [BEFORE_JSONB])
    layouts = seed_legacy_rows(old_apps)

    new_apps = migrate(executor, [JSONB])
    Result = new_apps.get_model("generation", "GenerationResult")
    images = dict(Result.objects.values_list("firstname", "images"))
    assert images == {
        "none": None,
        "one": ["u1"],
        "gap": ["u1", "u3"],
        "three": ["u2", "u3", "u4"],
        "four": ["u1", "u2", "u3", "u4"],
    }
    assert dict(Result.objects.values_list("firstname", "base_image_url"))["gap"] == "base-gap"
    Result.objects.filter(firstname="four").update(images=["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"])

    old_apps = migrate(executor, [BEFORE_JSONB])
    Result = old_apps.get_model("generation", "GenerationResult")
    columns = {r.firstname: [r.image_1_url, r.image_2_url, r.image_3_url, r.image_4_url] for r in Result.objects.all()}
    assert columns["none"] == layouts["none"]
    assert columns["one"] == ["u1", None, None, None]
    assert columns["gap"] == ["u1", "u3", None, None]  # compacted by the forward step, as in Alembic
    assert columns["three"] == ["u2", "u3", "u4", None]
    assert columns["four"] == ["u1", "u2", "u3", "u4"]  # the first four of eight


def test_generation_migrates_to_zero_and_forward_again_with_rows_in_the_tables(executor):
    apps = migrate(executor, latest_targets(executor))
    seed_rows_now(apps)
    migrate(executor, [("generation", None)])
    tables = set(connection.introspection.table_names())
    assert not {"generation_tasks", "generation_results", "config"} & tables
    assert {"users", "settings"} <= tables

    apps = migrate(executor, latest_targets(executor))
    flags = dict(apps.get_model("siteconfig", "Config").objects.values_list("key", "value"))
    assert flags == DEFAULT_CONFIG_FLAGS | LATER_CONFIG_FLAGS
    seed_rows_now(apps)
    assert apps.get_model("generation", "GenerationResult").objects.count() == 1


def test_the_whole_chain_reverses_to_zero_and_reapplies(executor):
    migrate(executor, [("accounts", None)])
    tables = set(connection.introspection.table_names())
    assert not {"users", "settings", "config", "generation_tasks", "generation_results"} & tables
    apps = migrate(executor, latest_targets(executor))
    assert dict(apps.get_model("siteconfig", "Settings").objects.values_list("key", "value")) == DEFAULT_BIO_PROMPTS


SETTING_BEFORE_INT_CONFIG = ("siteconfig", "0005_add_max_concurrent_tasks_setting")
INT_CONFIG = ("siteconfig", "0006_create_int_config_table_and_migrate_max_concurrent")


@pytest.mark.parametrize(("text", "moved"), [("3", 3), (" 5 ", 5), ("three", 1), (None, 1)])
def test_max_concurrent_tasks_moves_from_settings_into_int_config_and_back(executor, text, moved):
    apps = migrate(executor, [SETTING_BEFORE_INT_CONFIG])
    Settings = apps.get_model("siteconfig", "Settings")
    if text is None:
        Settings.objects.filter(key="max_concurrent_tasks").delete()
    else:
        Settings.objects.filter(key="max_concurrent_tasks").update(value=text)

    apps = migrate(executor, [INT_CONFIG])
    assert list(apps.get_model("siteconfig", "IntConfig").objects.values_list("key", "value")) == [
        ("max_concurrent_tasks", moved)
    ]
    assert not apps.get_model("siteconfig", "Settings").objects.filter(key="max_concurrent_tasks").exists()

    apps = migrate(executor, [SETTING_BEFORE_INT_CONFIG])
    back = apps.get_model("siteconfig", "Settings").objects.get(key="max_concurrent_tasks")
    assert back.value == str(moved)
    assert "int_config" not in connection.introspection.table_names()


def seed_rows_now(apps):
    User = apps.get_model("accounts", "User")
    Task = apps.get_model("generation", "GenerationTask")
    Result = apps.get_model("generation", "GenerationResult")
    user, _ = User.objects.get_or_create(email="rows@example.com", defaults={"password": "!"})
    task = Task.objects.create(
        task_code=f"rows{Task.objects.count():04d}", user=user, persona_description="d", bio_language="English",
        number_to_generate=1, images_per_persona=8,
    )  # fmt: skip
    Result.objects.create(task=task, batch_number=1, firstname="a", lastname="b", gender="m", images=["x"] * 8)


def test_a_stored_budget_of_0_or_less_becomes_empty_so_it_still_means_no_cap(executor):
    apps = migrate(executor, [BUDGETS_NULLABLE, STAFF_FLAGS])
    User = apps.get_model("accounts", "User")
    Task = apps.get_model("generation", "GenerationTask")
    UserBudget = apps.get_model("generation", "UserBudget")
    TaskBudget = apps.get_model("generation", "TaskBudget")
    caps = {"negative": "-5", "zero": "0", "set": "12.50"}
    for name, amount in caps.items():
        user = User.objects.create(email=f"{name}@example.com", password="!", is_staff=False)
        UserBudget.objects.create(user=user, monthly_usd=amount)
        task = Task.objects.create(task_code=f"cap{name[:5]}", user=user, persona_description="d",
                                   bio_language="English", number_to_generate=1, images_per_persona=4)  # fmt: skip
        TaskBudget.objects.create(task=task, cap_usd=amount)

    apps = migrate(executor, [BUDGETS_NOT_NEGATIVE, STAFF_FLAGS])
    monthly = dict(apps.get_model("generation", "UserBudget").objects.values_list("user__email", "monthly_usd"))
    assert monthly == {"negative@example.com": None, "zero@example.com": None, "set@example.com": Decimal("12.50")}
    task_caps = dict(apps.get_model("generation", "TaskBudget").objects.values_list("task__task_code", "cap_usd"))
    assert task_caps == {"capnegat": None, "capzero": None, "capset": Decimal("12.50")}

    apps = migrate(
        executor, [BUDGETS_NULLABLE, STAFF_FLAGS]
    )  # back: empty is spelled 0 again, which the old code read as no cap
    monthly = dict(apps.get_model("generation", "UserBudget").objects.values_list("user__email", "monthly_usd"))
    assert monthly == {"negative@example.com": 0, "zero@example.com": 0, "set@example.com": Decimal("12.50")}
