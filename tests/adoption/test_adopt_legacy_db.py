"""`manage.py adopt_legacy_db` on databases built the way the Flask app left them: Alembic's DDL
for the documented chain, real Flask-Bcrypt hashes, naive timestamps. The command runs in its own
process against each database, as an operator would run it; then the web app runs on the adopted
database and an old user signs in with their old password."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest

from avatar_project.adoption import revisions as legacy
from testkit.servers import ROOT
from tests.adoption.legacy import (
    EIGHT_IMAGES,
    FOUR_IMAGES,
    OPS_HASH,
    OPS_PASSWORD,
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
# After adoption: the migrations of the original's later revisions seed their two config flags.
ADOPTED_ROWS = ROWS | {"config": ROWS["config"] + 2}


@pytest.fixture
def legacy_db():
    with legacy_database() as db:
        yield db


@dataclass
class Adopted:
    db: LegacyDatabase
    run: subprocess.CompletedProcess
    hashes: dict[str, str]  # email: password_hash, right after adoption


@pytest.fixture(scope="module")
def adopted():
    """One legacy database adopted with Ops as staff, shared by the read-only checks."""
    with legacy_database() as db:
        assert db.counts() == ROWS
        run = db.adopt("--staff-emails", "OPS@example.com")
        assert run.returncode == 0, run.stderr + run.stdout
        yield Adopted(db, run, dict(db.sql("SELECT email, password_hash FROM users")))


# --- The adoption itself -------------------------------------------------------------------------


def test_every_row_is_kept_and_the_summary_says_so(adopted):
    assert adopted.db.counts() == ADOPTED_ROWS
    out = adopted.run.stdout
    assert "Adopted: Django now manages this database." in out
    for table, count in ROWS.items():
        assert f"  {table}: {count} -> {ADOPTED_ROWS[table]}" in out
    assert "  int_config: made by migrate, 1" in out


def test_values_are_kept_with_naive_times_read_as_utc(adopted):
    db = adopted.db
    assert db.sql("SELECT created_at, last_login FROM users WHERE email = 'ops@example.com'") == [
        (datetime(2026, 1, 30, 9, 31, 15, tzinfo=UTC), datetime(2026, 2, 3, 17, 45, tzinfo=UTC))
    ]
    assert db.sql(
        "SELECT created_at, completed_at, status, error_log FROM generation_tasks WHERE task_id = 'flask002'"
    )[0] == (datetime(2026, 1, 31, 9, tzinfo=UTC), datetime(2026, 1, 31, 9, 1, tzinfo=UTC), "failed", "No")
    assert db.sql(
        "SET timezone TO 'UTC'; SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM generation_results ORDER BY id"
    ) == [("2026-01-31 08:05:00",), ("2026-01-31 08:06:00",), ("2026-01-31 09:00:30",)]
    assert dict(db.sql("SELECT key, value FROM settings")) == PROMPTS
    assert dict(db.sql("SELECT key, value FROM config")) == {
        "randomize_face_base": True,
        "randomize_face_gender_lock": False,
        # Seeded by the migrations of the original's later revisions, which this database had not reached.
        "crop_white_borders": False,
        "randomize_image_style": False,
    }


def test_images_arrays_are_kept_in_order(adopted):
    rows = adopted.db.sql("SELECT firstname, images FROM generation_results ORDER BY id")
    assert rows == [("Camille", FOUR_IMAGES), ("Jonas", EIGHT_IMAGES), ("Rita", None)]


def test_the_chain_is_recorded_as_applied_and_everything_after_it_migrated(adopted):
    applied = set(adopted.db.sql("SELECT app, name FROM django_migrations"))
    assert set(legacy.CHAIN) <= applied
    for later in [
        ("accounts", "0002_add_staff_flags_and_permissions"),
        ("generation", "0005_pipeline_units_and_rate_slots"),
        ("generation", "0006_stall_sweep_schedule"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]:
        assert later in applied
    # The Flask revision table stays, untouched.
    assert adopted.db.sql("SELECT version_num FROM alembic_version") == [("d59663db64e2",)]
    assert "alembic_version is left in place" in adopted.run.stdout


def test_password_hashes_are_marked_for_the_flask_bcrypt_hasher_and_emails_lower_cased(adopted):
    hashes = adopted.hashes
    assert sorted(hashes) == ["analyst@example.com", "former@example.com", "ops@example.com"]
    assert hashes["ops@example.com"] == f"flask_bcrypt${OPS_HASH}"
    assert hashes["former@example.com"].startswith("flask_bcrypt$$2a$04$")
    assert all(value.startswith("flask_bcrypt$$2") for value in hashes.values())


def test_only_the_named_user_is_staff_and_nobody_is_a_superuser(adopted):
    rows = adopted.db.sql("SELECT email, is_staff, is_superuser FROM users ORDER BY email")
    assert rows == [
        ("analyst@example.com", False, False),
        ("former@example.com", False, False),
        ("ops@example.com", True, False),
    ]
    assert "Staff made: ops@example.com" in adopted.run.stdout


@pytest.mark.django_db
def test_the_adopted_schema_is_the_one_django_makes_but_for_serial_ids_and_alembic_version(adopted):
    assert_schema_is_djangos(adopted.db)
    # The one difference left on purpose: the ids keep their SERIAL sequences.
    assert adopted.db.sql(
        "SELECT column_default FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'id'"
    ) == [("nextval('users_id_seq'::regclass)",)]


def test_a_second_run_says_already_adopted_and_changes_nothing(adopted):
    before = adopted.db.fingerprint()
    run = adopted.db.adopt("--all-staff")
    assert run.returncode == 0, run.stderr
    assert "Already adopted" in run.stdout and "Nothing was changed" in run.stdout
    assert adopted.db.fingerprint() == before


def test_new_rows_get_the_next_ids_after_adoption(legacy_db):
    assert legacy_db.adopt().returncode == 0
    (new_id,) = legacy_db.sql(
        "INSERT INTO generation_tasks (task_id, user_id, persona_description, bio_language, number_to_generate, "
        "images_per_persona) VALUES ('django01', 1, 'd', 'English', 1, 4) RETURNING id"
    )[0]
    assert new_id == 4


# --- Options ------------------------------------------------------------------------------------


def test_dry_run_prints_every_statement_and_changes_nothing(legacy_db):
    before = legacy_db.fingerprint()
    run = legacy_db.adopt("--dry-run", "--staff-emails", "analyst@example.com")
    assert run.returncode == 0, run.stderr
    assert legacy_db.fingerprint() == before
    out = run.stdout
    assert out.startswith("Dry run: nothing was changed.")
    assert "ALTER TABLE users ADD CONSTRAINT ix_users_email UNIQUE USING INDEX ix_users_email;" in out
    assert "ALTER COLUMN created_at TYPE timestamp with time zone USING created_at AT TIME ZONE 'UTC'" in out
    assert "ALTER COLUMN created_at SET DEFAULT statement_timestamp()" in out
    assert "UPDATE users SET email = new.email FROM (VALUES (1, 'ops@example.com')) AS new (id, email)" in out
    assert "UPDATE users SET password_hash = 'flask_bcrypt$' || password_hash" in out
    assert "UPDATE users SET is_staff = true WHERE email IN ('analyst@example.com');" in out
    for app, name in legacy.CHAIN:
        assert f"--   {app}.{name}" in out
    assert "--   accounts.0002_add_staff_flags_and_permissions" in out
    assert "--   generation.0006_stall_sweep_schedule" in out


def test_all_staff_makes_every_active_user_staff_and_superuser_emails_make_superusers(legacy_db):
    run = legacy_db.adopt("--all-staff", "--superuser-emails", "Analyst@Example.com")
    assert run.returncode == 0, run.stderr
    assert legacy_db.sql("SELECT email, is_staff, is_superuser FROM users ORDER BY email") == [
        ("analyst@example.com", True, True),
        ("former@example.com", False, False),
        ("ops@example.com", True, False),
    ]


def test_an_inactive_user_named_staff_is_made_staff_with_a_note_that_they_cannot_sign_in(legacy_db):
    run = legacy_db.adopt("--staff-emails", "former@example.com")
    assert run.returncode == 0, run.stderr
    assert legacy_db.sql("SELECT is_staff, is_active FROM users WHERE email = 'former@example.com'") == [(True, False)]
    assert "former@example.com is made staff but is inactive" in run.stdout


def test_without_staff_options_nobody_is_staff_and_the_summary_says_how_to_grant_it(legacy_db):
    run = legacy_db.adopt()
    assert run.returncode == 0, run.stderr
    assert legacy_db.sql("SELECT count(*) FROM users WHERE is_staff OR is_superuser") == [(0,)]
    assert "No one was made staff" in run.stdout and "ensure_superuser" in run.stdout


def test_staff_and_all_staff_options_exclude_each_other(legacy_db):
    run = legacy_db.adopt("--all-staff", "--staff-emails", "ops@example.com")
    assert run.returncode != 0 and "not allowed with argument" in run.stderr


# --- Refusals: a precise report, and nothing changed ---------------------------------------------


def refused(db: LegacyDatabase, *args: str) -> str:
    before = db.fingerprint()
    run = db.adopt(*args)
    assert run.returncode != 0, run.stdout
    assert db.fingerprint() == before
    assert not db.sql("SELECT 1 FROM pg_tables WHERE tablename = 'django_migrations'")
    assert "This database cannot be adopted; nothing was changed:" in run.stderr
    return run.stderr


REFUSALS = {
    "wrong revision": (
        "UPDATE alembic_version SET version_num = '3d677a879bd9'",
        "alembic_version is 3d677a879bd9, expected d59663db64e2",
    ),
    "missing column": ("ALTER TABLE generation_results DROP COLUMN images", "missing column generation_results.images"),
    "extra column": ("ALTER TABLE users ADD COLUMN nickname TEXT", "unknown extra column users.nickname"),
    "no alembic_version": ("DROP TABLE alembic_version", "no alembic_version table"),
    "missing table": ("DROP TABLE config", "missing table config"),
    "empty alembic_version": ("DELETE FROM alembic_version", "alembic_version is empty, expected d59663db64e2"),
    "incompatible type": (
        "DROP INDEX ix_users_email; ALTER TABLE users ALTER COLUMN email TYPE integer USING 0",
        "column users.email is integer, expected character varying(255)",
    ),
    "NULLs": (
        "ALTER TABLE users ALTER COLUMN created_at DROP NOT NULL; UPDATE users SET created_at = NULL WHERE id = 3",
        "column users.created_at has 1 NULL value(s), expected NOT NULL",
    ),
    "Django table in the way": (
        "CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY)",
        "table django_session already exists, but Django's migrations would create it",
    ),
    "emails equal but for case": (
        "INSERT INTO users (email, password_hash, created_at, is_active) VALUES ('OPS@example.com', 'x', now(), true)",
        "users.email: Ops@Example.com, OPS@example.com are one address once lower-cased",
    ),
}


@pytest.mark.parametrize(("damage", "problem"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_database_that_is_not_the_documented_one_is_refused_with_the_problem_named(legacy_db, damage, problem):
    legacy_db.sql(damage)
    assert f"  - {problem}" in refused(legacy_db)


def test_every_problem_is_listed_at_once(legacy_db):
    legacy_db.sql(
        "UPDATE alembic_version SET version_num = '3d677a879bd9'; ALTER TABLE generation_results DROP COLUMN images; "
        "ALTER TABLE users ADD COLUMN nickname TEXT; DROP TABLE config"
    )
    report = refused(legacy_db, "--staff-emails", "ops@example.com,ghost@example.com")
    problems = [line for line in report.splitlines() if line.startswith("  - ")]
    assert problems == [
        "  - alembic_version is 3d677a879bd9, expected d59663db64e2 or one of the original app's 6 later revisions, "
        "to fbc78f685fa2",
        "  - unknown extra column users.nickname",
        "  - missing table config",
        "  - missing column generation_results.images",
        "  - --staff-emails: no user with email ghost@example.com",
    ]


def test_an_unknown_staff_email_is_refused_before_anything_changes(legacy_db):
    report = refused(legacy_db, "--staff-emails", "ops@example.com,ghost@example.com", "--superuser-emails", "x@y.z")
    assert "  - --staff-emails: no user with email ghost@example.com" in report
    assert "  - --superuser-emails: no user with email x@y.z" in report


def test_a_failure_while_converting_rolls_everything_back(legacy_db):
    # A duplicate task id the unique constraint refuses, found only when the constraint is created,
    # after the timestamp columns have already been converted in the same transaction.
    legacy_db.sql(
        "DROP INDEX ix_generation_tasks_task_id; "
        "ALTER TABLE generation_tasks DROP CONSTRAINT uq_generation_tasks_task_id; "
        "UPDATE generation_tasks SET task_id = 'flask001' WHERE task_id = 'flask003'"
    )
    before = legacy_db.fingerprint()
    run = legacy_db.adopt()
    assert run.returncode != 0
    assert "Adoption failed and was rolled back; nothing was changed" in run.stderr
    assert "flask001" in run.stderr
    assert legacy_db.fingerprint() == before


def test_a_flask_app_still_using_the_tables_makes_adoption_fail_after_the_lock_timeout(legacy_db):
    before = legacy_db.fingerprint()
    with psycopg.connect(legacy_db.url) as flask_app:
        flask_app.execute("SELECT count(*) FROM generation_tasks")  # a transaction left open, as a request holds it
        run = legacy_db.adopt("--lock-timeout", "0.5")
    assert run.returncode != 0
    assert "lock timeout" in run.stderr and "Is the Flask app still running? Stop it first." in run.stderr
    assert legacy_db.fingerprint() == before


def test_a_mistaken_plain_migrate_first_does_not_prevent_adoption(legacy_db):
    # `migrate` stops at accounts.0001_initial ("relation users already exists"), leaving an empty
    # django_migrations table behind.
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate"], cwd=ROOT, env=app_env(legacy_db.url), capture_output=True, text=True
    )
    assert migrate.returncode != 0 and 'relation "users" already exists' in migrate.stderr
    run = legacy_db.adopt()
    assert run.returncode == 0, run.stderr
    assert legacy_db.counts() == ADOPTED_ROWS
    assert set(legacy.CHAIN) <= set(legacy_db.sql("SELECT app, name FROM django_migrations"))


def test_anything_but_postgresql_is_refused(tmp_path):
    run = subprocess.run(
        [sys.executable, "manage.py", "adopt_legacy_db"],
        cwd=ROOT,
        env=app_env(f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "  - the database is sqlite, not PostgreSQL" in run.stderr


# --- The web app on the adopted database -----------------------------------------------------------


def test_an_old_user_signs_in_with_their_old_password_and_sees_their_legacy_tasks(legacy_db, tmp_path):
    run = legacy_db.adopt("--staff-emails", "ops@example.com")
    assert run.returncode == 0, run.stderr
    message = "That email and password do not match an active account."
    with web_app(legacy_db.url, tmp_path / "runserver.log") as base:
        browser = Browser(base)
        for wrong in ["not the password", OPS_PASSWORD + "x" * 60]:  # the second is over bcrypt's 72 bytes
            status, url, page = browser.sign_in("ops@example.com", wrong)
            assert (status, url) == (200, base + "/accounts/login/"), page
            assert message in page
        assert legacy_db.sql("SELECT password_hash FROM users WHERE id = 1") == [(f"flask_bcrypt${OPS_HASH}",)]

        # The email as the Flask app stored it, in its mixed case.
        status, url, page = browser.sign_in("Ops@Example.com", OPS_PASSWORD)
        assert (status, url) == (200, base + "/tasks/"), page
        assert "flask001" in page and "flask003" in page
        assert "flask002" not in page  # the analyst's: a non-superuser sees only their own
        status, _, page = browser.get("/tasks/flask001/")
        assert status == 200
        assert "Camille Martin" in page and "Jonas Weber" in page
        assert browser.get("/tasks/flask002/")[0] == 404

    (new_hash,) = legacy_db.sql("SELECT password_hash FROM users WHERE id = 1")[0]
    assert new_hash.startswith("pbkdf2_sha256$")
