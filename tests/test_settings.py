"""Settings come from the environment; each case runs Django's settings in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'debug': settings.DEBUG, "
    "'hosts': settings.ALLOWED_HOSTS, 'origins': settings.CSRF_TRUSTED_ORIGINS, 'tz': settings.TIME_ZONE}))"
)


def load_settings(script: str = PRINT_SETTINGS, **environment):
    unset = {"DATABASE_URL", "DEBUG", "SECRET_KEY", "CONN_MAX_AGE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {"DJANGO_SETTINGS_MODULE": "avatar_project.settings", "ENV_FILE": "/nonexistent/.env"} | environment
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)


def test_without_database_url_the_database_is_an_sqlite_file_in_the_project():
    done = load_settings(SECRET_KEY="s" * 50)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(ROOT / "db.sqlite3")


def test_database_url_selects_postgresql():
    done = load_settings(SECRET_KEY="s" * 50, DATABASE_URL="postgres://u:p@db.internal:5433/avatars")
    loaded = json.loads(done.stdout)
    assert (loaded["engine"], loaded["name"]) == ("django.db.backends.postgresql", "avatars")


def test_secret_key_is_required_when_debug_is_off_with_a_clear_message():
    done = load_settings(DEBUG="false")
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def test_debug_runs_without_a_secret_key():
    done = load_settings(DEBUG="true")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["debug"] is True


def test_hosts_origins_and_time_zone_come_from_the_environment():
    done = load_settings(
        SECRET_KEY="s" * 50,
        ALLOWED_HOSTS="avatars.example.com,.internal",
        CSRF_TRUSTED_ORIGINS="https://avatars.example.com",
        TIME_ZONE="Europe/Paris",
    )
    loaded = json.loads(done.stdout)
    assert loaded["hosts"] == ["avatars.example.com", ".internal"]
    assert loaded["origins"] == ["https://avatars.example.com"]
    assert loaded["tz"] == "Europe/Paris"


def test_the_env_file_is_read_but_the_real_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=from-the-file-" + "x" * 40 + "\nTIME_ZONE=Asia/Tokyo\n")
    done = load_settings(ENV_FILE=str(env_file), TIME_ZONE="America/Lima")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tz"] == "America/Lima"


def test_an_unknown_image_output_format_stops_start_up_with_a_clear_message():
    done = load_settings(SECRET_KEY="s" * 50, OPENAI_OUTPUT_FORMAT="gif")
    assert done.returncode != 0
    assert "OPENAI_OUTPUT_FORMAT must be jpeg, png, webp or empty (not 'gif')" in done.stderr


def test_database_connections_are_kept_a_minute_and_health_checked_by_default():
    script = (
        "import json, django; from django.conf import settings; django.setup(); db = settings.DATABASES['default']; "
        "print(json.dumps([db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS']]))"
    )
    done = load_settings(script, DEBUG="true")
    assert json.loads(done.stdout) == [60, True]


PRINT_CAPS = (
    "import django; from django.conf import settings; django.setup(); "
    "print(repr((settings.TASK_BUDGET_USD, settings.MONTHLY_BUDGET_USD, settings.MAX_OPEN_TASKS_PER_USER)))"
)


def test_a_negative_budget_setting_stops_start_up_with_a_clear_message():
    for name in ("TASK_BUDGET_USD", "MONTHLY_BUDGET_USD"):
        done = load_settings(PRINT_CAPS, DEBUG="true", **{name: "-1"})
        assert done.returncode != 0
        assert f"{name} must be an amount in USD from 0 to 99999999.99, or empty for no cap (not '-1')" in done.stderr
    done = load_settings(PRINT_CAPS, DEBUG="true", MONTHLY_BUDGET_USD="lots")
    assert done.returncode != 0 and "(not 'lots')" in done.stderr


def test_an_empty_budget_setting_is_no_cap_and_0_is_a_cap_of_nothing():
    done = load_settings(PRINT_CAPS, DEBUG="true", TASK_BUDGET_USD="", MONTHLY_BUDGET_USD="0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(None, Decimal('0.00'), 10)"


def test_the_open_tasks_cap_is_a_whole_number_of_1_or_more_or_empty():
    done = load_settings(PRINT_CAPS, DEBUG="true", MAX_OPEN_TASKS_PER_USER="0")
    assert done.returncode != 0 and "MAX_OPEN_TASKS_PER_USER must be a whole number of 1 or more" in done.stderr
    done = load_settings(PRINT_CAPS, DEBUG="true", MAX_OPEN_TASKS_PER_USER="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(Decimal('100.00'), Decimal('1000.00'), None)"


def test_a_budget_setting_larger_than_a_budget_column_holds_stops_start_up():
    done = load_settings(PRINT_CAPS, DEBUG="true", TASK_BUDGET_USD="1e12")
    assert done.returncode != 0
    assert "TASK_BUDGET_USD must be an amount in USD from 0 to 99999999.99" in done.stderr
    done = load_settings(PRINT_CAPS, DEBUG="true", TASK_BUDGET_USD="99999999.99")
    assert done.returncode == 0, done.stderr


def test_an_address_failure_limit_below_1_stops_start_up_rather_than_lock_every_address_out():
    script = (
        "import django; from django.conf import settings; django.setup(); print(settings.SIGN_IN_ADDRESS_FAILURE_LIMIT)"
    )
    for value in ("0", "-3"):
        done = load_settings(script, DEBUG="true", SIGN_IN_ADDRESS_FAILURE_LIMIT=value)
        assert done.returncode != 0
        assert f"SIGN_IN_ADDRESS_FAILURE_LIMIT must be a whole number of 1 or more (not {value})" in done.stderr
    done = load_settings(script, DEBUG="true", SIGN_IN_ADDRESS_FAILURE_LIMIT="1")
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
