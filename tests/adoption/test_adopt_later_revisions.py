"""`adopt_legacy_db` on databases the original app's own chain left at three of its revisions: the documented one,
8a3b5c7d9e0f (int_config there, the persona columns not yet) and fbc78f685fa2 (its last). Every row and value is
kept, the migrations up to the revision are recorded, the rest applied, and the old passwords still sign in."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

from avatar_project.adoption import revisions
from testkit.servers import ROOT
from tests.adoption.legacy import (
    OPS_PASSWORD,
    PROFILE,
    PROMPTS,
    ROWS,
    Browser,
    LegacyDatabase,
    app_env,
    assert_schema_is_djangos,
    legacy_database,
    web_app,
)
from tests.conftest import requires_postgresql

pytestmark = requires_postgresql

THREE = ["d59663db64e2", "8a3b5c7d9e0f", "fbc78f685fa2"]
PERSONA_ROWS = {"users": ROWS["users"], "generation_tasks": 3, "generation_results": 3}


def before_adoption(db: LegacyDatabase, revision: str) -> dict:
    tables = ["config", "settings"] + (["int_config"] if revision != "d59663db64e2" else [])
    return {table: dict(db.sql(f"SELECT key, value FROM {table}")) for table in tables}


@dataclass
class AdoptedAt:
    revision: str
    db: LegacyDatabase
    run: subprocess.CompletedProcess
    before: dict


@pytest.fixture(scope="module", params=THREE)
def adopted_at(request):
    with legacy_database(revision=request.param) as db:
        assert db.sql("SELECT version_num FROM alembic_version") == [(request.param,)]
        before = before_adoption(db, request.param)
        run = db.adopt("--staff-emails", "ops@example.com")
        assert run.returncode == 0, run.stderr + run.stdout
        yield AdoptedAt(request.param, db, run, before)


def test_every_persona_row_is_kept(adopted_at):
    db = adopted_at.db
    assert {table: db.sql(f"SELECT count(*) FROM {table}")[0][0] for table in PERSONA_ROWS} == PERSONA_ROWS
    for table, count in PERSONA_ROWS.items():
        assert f"  {table}: {count} -> {count}" in adopted_at.run.stdout


def test_every_flag_and_setting_is_kept_and_the_later_ones_are_seeded(adopted_at):
    db = adopted_at.db
    config = dict(db.sql("SELECT key, value FROM config"))
    assert adopted_at.before["config"].items() <= config.items()
    assert config == {
        "randomize_face_base": True,
        "randomize_face_gender_lock": False,
        # The operators turned this one on after 70c50b9233b6; a database from before gets the seed, off.
        "crop_white_borders": adopted_at.revision != "d59663db64e2",
        "randomize_image_style": False,
    }
    assert dict(db.sql("SELECT key, value FROM settings")) == PROMPTS
    # 3 as the operators set it (moved out of settings by 8a3b5c7d9e0f); the seed, 1, where it never existed.
    expected = 1 if adopted_at.revision == "d59663db64e2" else 3
    assert db.sql("SELECT key, value FROM int_config") == [("max_concurrent_tasks", expected)]


def test_the_profile_columns_keep_their_values(adopted_at):
    rows = adopted_at.db.sql(f"SELECT firstname, {', '.join(PROFILE)} FROM generation_results ORDER BY id")
    profiles = {row[0]: dict(zip(PROFILE, row[1:], strict=True)) for row in rows}
    empty = dict.fromkeys(PROFILE)
    if adopted_at.revision == "fbc78f685fa2":
        assert profiles["Camille"] == PROFILE
        assert profiles["Jonas"] == empty | {"age": 0, "about": ""}  # a zero and an empty text are values too
    else:
        assert profiles["Camille"] == empty
    assert profiles["Rita"] == empty


def test_the_migrations_up_to_the_revision_are_recorded_and_nothing_is_left_to_migrate(adopted_at):
    applied = set(adopted_at.db.sql("SELECT app, name FROM django_migrations"))
    assert set(revisions.migrations(revisions.FINAL)) <= applied
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=ROOT,
        env=app_env(adopted_at.db.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_int_config_key_is_unique_as_django_declares_it(adopted_at):
    assert adopted_at.db.sql("SELECT contype FROM pg_constraint WHERE conname = 'ix_int_config_key'") == [("u",)]


@pytest.mark.django_db
def test_the_adopted_schema_is_the_one_django_makes(adopted_at):
    assert_schema_is_djangos(adopted_at.db)


def test_a_second_run_changes_nothing(adopted_at):
    before = adopted_at.db.fingerprint()
    again = adopted_at.db.adopt()
    assert again.returncode == 0, again.stderr
    assert "Already adopted" in again.stdout
    assert adopted_at.db.fingerprint() == before


def test_an_old_user_signs_in_with_their_old_password_and_exports_the_profiles(adopted_at, tmp_path):
    with web_app(adopted_at.db.url, tmp_path / "runserver.log") as base:
        browser = Browser(base)
        status, url, page = browser.sign_in("ops@example.com", OPS_PASSWORD)
        assert (status, url) == (200, base + "/tasks/"), page
        assert "flask001" in page
        status, _, body = browser.get("/tasks/flask001/export.json")
        assert status == 200, body
    profiles = {persona["firstname"]: persona["profile"] for persona in json.loads(body)["personas"]}
    if adopted_at.revision == "fbc78f685fa2":
        assert profiles["Camille"] == PROFILE
        assert profiles["Jonas"] == dict.fromkeys(PROFILE) | {"age": 0, "about": ""}
    else:
        assert profiles["Camille"] == dict.fromkeys(PROFILE)


@pytest.mark.parametrize("revision", THREE)
def test_a_dry_run_says_per_table_what_it_would_do_and_changes_nothing(revision):
    with legacy_database(revision=revision) as db:
        before = db.fingerprint()
        run = db.adopt("--dry-run")
        assert run.returncode == 0, run.stderr
        assert db.fingerprint() == before
    out = run.stdout
    assert "Per table, adopting this database would:" in out
    assert "  generation_results: keep its 3 row(s);" in out
    assert "  config: keep its " in out and "randomize_face_base" in out
    if revision == "d59663db64e2":
        assert "  int_config: not there yet; migrate creates it" in out
        assert "siteconfig.0006_create_int_config_table_and_migrate_max_concurrent" in out
    else:
        assert "  int_config: keep its 1 row(s) (max_concurrent_tasks); int_config:" not in out
        assert "  int_config: keep its 1 row(s) (max_concurrent_tasks)" in out
    if revision == "fbc78f685fa2":
        assert "--   generation.0027_add_ethnicity_and_age_to_generation_results" in out


REFUSALS = {
    "columns of a revision the database does not name": (
        "8a3b5c7d9e0f",
        "ALTER TABLE generation_results ADD COLUMN age INTEGER",
        "unknown extra column generation_results.age (revision fbc78f685fa2 adds it, but alembic_version says "
        "8a3b5c7d9e0f)",
    ),
    "a column its revision adds is missing": (
        "fbc78f685fa2",
        "ALTER TABLE generation_results DROP COLUMN ethnicity",
        "missing column generation_results.ethnicity",
    ),
    "int_config before the revision that makes it": (
        "d59663db64e2",
        "CREATE TABLE int_config (id SERIAL PRIMARY KEY, key VARCHAR(255) NOT NULL, value INTEGER NOT NULL)",
        "table int_config already exists, but Django's migrations would create it",
    ),
    "int_config missing at a revision that has it": (
        "fbc78f685fa2",
        "DROP TABLE int_config",
        "missing table int_config",
    ),
    "an unknown revision": (
        "fbc78f685fa2",
        "UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'",
        "alembic_version is a1b2c3d4e5f6, expected d59663db64e2 or one of the original app's 6 later revisions, to "
        "fbc78f685fa2",
    ),
}


@pytest.mark.parametrize(("revision", "damage", "problem"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_database_that_matches_no_revision_is_refused_with_the_difference_named(revision, damage, problem):
    with legacy_database(revision=revision) as db:
        db.sql(damage)
        before = db.fingerprint()
        run = db.adopt()
        assert run.returncode != 0, run.stdout
        assert db.fingerprint() == before
    assert f"  - {problem}" in run.stderr
