"""The Flask app's database as its own migrations left it, for the adoption tests: Alembic's DDL for the documented
chain and, from original-app-later-revisions.md, for the six revisions after it (written from that page, not copied
from the original's code); rows as the Flask app wrote them; the command run in a process of its own, as an operator
runs it; and the web app on an adopted database, signed in through its real form."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import bcrypt
import psycopg
from django.conf import settings
from django.db import connection

from testkit.servers import ROOT, wait_until

SECRET_KEY = "adopt-legacy-db-tests-" + "x" * 40

# What Alembic and SQLAlchemy made for the documented chain (25698f3f906f ... d59663db64e2):
# SERIAL ids, naive timestamps, now() server defaults, unique *indexes* for the ix_ names.
LEGACY_DDL = """
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE users (
    id SERIAL NOT NULL,
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    last_login TIMESTAMP WITHOUT TIME ZONE,
    is_active BOOLEAN NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE settings (
    id SERIAL NOT NULL,
    key VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_settings_key ON settings (key);
CREATE TABLE generation_tasks (
    id SERIAL NOT NULL,
    task_id VARCHAR(12) NOT NULL,
    user_id INTEGER NOT NULL,
    persona_description TEXT NOT NULL,
    bio_language VARCHAR(100) NOT NULL,
    number_to_generate INTEGER NOT NULL,
    images_per_persona INTEGER NOT NULL,
    status VARCHAR(50) DEFAULT 'pending' NOT NULL,
    error_log TEXT,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    completed_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (id),
    CONSTRAINT fk_generation_tasks_user_id FOREIGN KEY(user_id) REFERENCES users (id),
    CONSTRAINT uq_generation_tasks_task_id UNIQUE (task_id)
);
CREATE UNIQUE INDEX ix_generation_tasks_task_id ON generation_tasks (task_id);
CREATE INDEX ix_generation_tasks_user_id ON generation_tasks (user_id);
CREATE INDEX ix_generation_tasks_status ON generation_tasks (status);
CREATE TABLE generation_results (
    id SERIAL NOT NULL,
    task_id INTEGER NOT NULL,
    batch_number INTEGER NOT NULL,
    firstname VARCHAR(100) NOT NULL,
    lastname VARCHAR(100) NOT NULL,
    gender VARCHAR(10) NOT NULL,
    bio_facebook TEXT,
    bio_instagram TEXT,
    bio_x TEXT,
    bio_tiktok TEXT,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_generation_results_task_id FOREIGN KEY(task_id) REFERENCES generation_tasks (id) ON DELETE CASCADE
);
CREATE INDEX ix_generation_results_task_id ON generation_results (task_id);
CREATE INDEX ix_generation_results_batch_number ON generation_results (batch_number);
-- 36b6aa503da9, then 30c18b6939ce moved image_1_url ... image_4_url into images and dropped them.
ALTER TABLE generation_results ADD COLUMN base_image_url TEXT;
ALTER TABLE generation_results ADD COLUMN image_1_url TEXT;
ALTER TABLE generation_results ADD COLUMN images JSONB;
ALTER TABLE generation_results DROP COLUMN image_1_url;
CREATE TABLE config (
    id SERIAL NOT NULL,
    key VARCHAR(255) NOT NULL,
    value BOOLEAN NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_config_key ON config (key);
INSERT INTO alembic_version (version_num) VALUES ('d59663db64e2');
"""

# The six later revisions, each as its Alembic step does it (original-app-later-revisions.md), oldest first. Each
# runs on a database with the Flask app's rows in it, as it did for the original's operators.
LATER_DDL = {
    "70c50b9233b6": "INSERT INTO config (key, value) VALUES ('crop_white_borders', false)",
    "d8982580d2a4": "INSERT INTO config (key, value) VALUES ('randomize_image_style', false)",
    "7e1fabd32d40": "INSERT INTO settings (key, value) VALUES ('max_concurrent_tasks', '1')",
    "8a3b5c7d9e0f": """
        CREATE TABLE int_config (
            id SERIAL NOT NULL,
            key VARCHAR(255) NOT NULL,
            value INTEGER NOT NULL,
            created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
            updated_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
            PRIMARY KEY (id)
        );
        CREATE UNIQUE INDEX ix_int_config_key ON int_config (key);
        INSERT INTO int_config (key, value)
            SELECT key, CAST(value AS INTEGER) FROM settings WHERE key = 'max_concurrent_tasks';
        DELETE FROM settings WHERE key = 'max_concurrent_tasks';
        INSERT INTO int_config (key, value)
            SELECT 'max_concurrent_tasks', 1
            WHERE NOT EXISTS (SELECT 1 FROM int_config WHERE key = 'max_concurrent_tasks');
    """,
    "7e69fd85074a": """
        ALTER TABLE generation_results ADD COLUMN job_title TEXT;
        ALTER TABLE generation_results ADD COLUMN workplace TEXT;
        ALTER TABLE generation_results ADD COLUMN edu_establishment TEXT;
        ALTER TABLE generation_results ADD COLUMN edu_study TEXT;
        ALTER TABLE generation_results ADD COLUMN current_city VARCHAR(255);
        ALTER TABLE generation_results ADD COLUMN current_state VARCHAR(255);
        ALTER TABLE generation_results ADD COLUMN prev_city VARCHAR(255);
        ALTER TABLE generation_results ADD COLUMN prev_state VARCHAR(255);
        ALTER TABLE generation_results ADD COLUMN about TEXT;
    """,
    "fbc78f685fa2": """
        ALTER TABLE generation_results ADD COLUMN ethnicity VARCHAR(100);
        ALTER TABLE generation_results ADD COLUMN age INTEGER;
    """,
}
# What the original's operators did between revisions: turned a later flag on, let three tasks run at once, and
# had a persona's profile filled in.
LATER_DATA = {
    "70c50b9233b6": "UPDATE config SET value = true WHERE key = 'crop_white_borders'",
    "7e1fabd32d40": "UPDATE settings SET value = '3' WHERE key = 'max_concurrent_tasks'",
    "fbc78f685fa2": """
        UPDATE generation_results SET job_title = 'Cycle courier', workplace = 'Vélo Express',
            edu_establishment = 'Université Lyon 2', edu_study = 'Geography', current_city = 'Lyon',
            current_state = 'Auvergne-Rhône-Alpes', prev_city = 'Grenoble', prev_state = 'Isère',
            about = 'Rides every day, rain or shine.', ethnicity = 'French', age = 31
        WHERE firstname = 'Camille';
        UPDATE generation_results SET age = 0, about = '' WHERE firstname = 'Jonas';
    """,
}
PROFILE = {
    "job_title": "Cycle courier",
    "workplace": "Vélo Express",
    "edu_establishment": "Université Lyon 2",
    "edu_study": "Geography",
    "current_city": "Lyon",
    "current_state": "Auvergne-Rhône-Alpes",
    "prev_city": "Grenoble",
    "prev_state": "Isère",
    "about": "Rides every day, rain or shine.",
    "ethnicity": "French",
    "age": 31,
}

OPS_PASSWORD = "flask era passphrase"
ANALYST_PASSWORD = "another old secret"
OPS_HASH = bcrypt.hashpw(OPS_PASSWORD.encode(), bcrypt.gensalt(12)).decode()  # Flask-Bcrypt's default
PROMPTS = {
    "bio_prompt_facebook": "Custom Facebook prompt kept from Flask",
    "bio_prompt_instagram": "Custom Instagram prompt kept from Flask",
    "bio_prompt_x": "Custom X prompt kept from Flask",
    "bio_prompt_tiktok": "Custom TikTok prompt kept from Flask",
}
EIGHT_IMAGES = [f"https://s3.example.com/avatars/flask001/2/{i}.jpg" for i in range(1, 9)]
FOUR_IMAGES = [f"https://s3.example.com/avatars/flask001/1/{i}.jpg" for i in range(1, 5)]
ROWS = {"users": 3, "settings": 4, "config": 2, "generation_tasks": 3, "generation_results": 3}


def legacy_data(cursor) -> None:
    """Rows as the Flask app wrote them: naive UTC times, bare bcrypt hashes, an email in mixed case."""
    analyst_hash = bcrypt.hashpw(ANALYST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    former_hash = bcrypt.hashpw(b"gone", bcrypt.gensalt(4, b"2a")).decode()
    users = [
        ("Ops@Example.com", OPS_HASH, "2026-01-30 09:31:15", "2026-02-03 17:45:00", True),
        ("analyst@example.com", analyst_hash, "2026-01-30 10:00:00", None, True),
        ("former@example.com", former_hash, "2026-01-30 11:00:00", None, False),
    ]
    cursor.executemany(
        "INSERT INTO users (email, password_hash, created_at, last_login, is_active) VALUES (%s, %s, %s, %s, %s)",
        users,
    )
    cursor.executemany(
        "INSERT INTO settings (key, value, created_at, updated_at) VALUES (%s, %s, %s, %s)",
        [(key, value, "2026-01-30 11:33:28", "2026-02-02 08:00:00") for key, value in PROMPTS.items()],
    )
    cursor.execute(
        "INSERT INTO config (key, value) VALUES ('randomize_face_base', true), ('randomize_face_gender_lock', false)"
    )
    # task_id, user, description, language, personas, images each, status, error, created, completed
    tasks = [
        (
            "flask001",
            1,
            "Cyclists in Lyon",
            "French",
            2,
            8,
            "completed",
            None,
            "2026-01-31 08:00",
            "2026-01-31 08:12:30",
        ),
        ("flask002", 2, "Bakers in Porto", "Portuguese", 1, 4, "failed", "No", "2026-01-31 09:00", "2026-01-31 09:01"),
        ("flask003", 1, "Runners in Oslo", "Norwegian", 1, 4, "pending", None, "2026-01-31 10:00", None),
    ]
    cursor.executemany(
        """INSERT INTO generation_tasks (task_id, user_id, persona_description, bio_language, number_to_generate,
           images_per_persona, status, error_log, created_at, updated_at, completed_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        [(*task[:8], task[8], task[8], task[9]) for task in tasks],
    )
    results = [
        (1, 1, "Camille", "Martin", "f", "Cycliste | Lyon", FOUR_IMAGES, "2026-01-31 08:05:00"),
        (1, 1, "Jonas", "Weber", "m", "Rouleur du dimanche", EIGHT_IMAGES, "2026-01-31 08:06:00"),
        (2, 1, "Rita", "Sousa", "f", None, None, "2026-01-31 09:00:30"),
    ]
    cursor.executemany(
        """INSERT INTO generation_results (task_id, batch_number, firstname, lastname, gender, bio_facebook, images,
           created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        [(*row[:6], None if row[6] is None else json.dumps(row[6]), row[7]) for row in results],
    )


def server_url(database: str) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


@dataclass
class LegacyDatabase:
    name: str

    @property
    def url(self) -> str:
        return server_url(self.name)

    def sql(self, statement: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall() if cursor.description else []
            while cursor.nextset():  # several statements: the last one's rows
                rows = cursor.fetchall() if cursor.description else []
            return rows

    def adopt(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "adopt_legacy_db", *args],
            cwd=ROOT,
            env=app_env(self.url),
            capture_output=True,
            text=True,
            timeout=180,
        )

    def counts(self) -> dict[str, int]:
        return {table: self.sql(f"SELECT count(*) FROM {table}")[0][0] for table in ROWS}

    def fingerprint(self) -> dict:
        """Every table's columns, indexes, constraints and rows, to prove a run changed nothing."""
        tables = [t for (t,) in self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {
            "columns": self.sql(
                """SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
                   FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"""
            ),
            "indexes": self.sql("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"),
            "constraints": self.sql(
                """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"""
            ),
            "rows": {
                table: self.sql(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
                for table in tables
            },
        }


def app_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENV_FILE": "/nonexistent/.env",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
    }


@contextmanager
def legacy_database(*, data: bool = True, revision: str = "d59663db64e2"):
    """A fresh database as the Flask app left it at `revision`, dropped afterwards. Its server's time zone is not
    UTC, as a real one's might not be: the stored naive times are UTC whatever it says."""
    name = f"legacy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"ALTER DATABASE {name} SET timezone TO 'Asia/Tokyo'")
    try:
        with psycopg.connect(server_url(name), autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(LEGACY_DDL)
            if data:
                legacy_data(cursor)
            for later, ddl in LATER_DDL.items() if revision != "d59663db64e2" else ():
                cursor.execute(ddl)
                if data and later in LATER_DATA:
                    cursor.execute(LATER_DATA[later])
                cursor.execute("UPDATE alembic_version SET version_num = %s", [later])
                if later == revision:
                    break
        yield LegacyDatabase(name)
    finally:
        with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """urllib with a cookie jar: enough to sign in through the real form."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str, str]:
        return self.open(urllib.request.Request(self.base + path))

    def open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()

    def sign_in(self, email: str, password: str) -> tuple[int, str, str]:
        status, _, page = self.get("/accounts/login/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        assert any(cookie.name == "csrftoken" for cookie in self.jar)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password})
        request = urllib.request.Request(
            self.base + "/accounts/login/",
            data=form.encode(),
            headers={"Referer": self.base + "/accounts/login/", "Content-Type": "application/x-www-form-urlencoded"},
        )
        return self.open(request)


@contextmanager
def web_app(database_url: str, log_path):
    port = free_port()
    env = app_env(database_url) | {
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no redirect to HTTPS, cookies sent without TLS.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:

            def up():
                try:
                    return Browser(base).get("/accounts/login/")[0] == 200
                except OSError:
                    assert process.poll() is None, log_path.read_text()
                    return False

            wait_until(up, timeout=30, message="runserver to answer")
            yield base
        finally:
            process.terminate()
            process.wait(10)


def schema(sql) -> tuple[set, set, set]:
    """Columns, constraints and indexes of the current schema, as `sql` (a function running one statement) reads
    them; the ids' defaults left out (SERIAL in an adopted database, identity in Django's)."""
    columns = {
        (table, column, dtype, length, nullable, None if column == "id" else default)
        for table, column, dtype, length, nullable, default in sql(
            """SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
               FROM information_schema.columns WHERE table_schema = current_schema()"""
        )
    }
    constraints = set(
        sql(
            """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE connamespace = current_schema()::regnamespace"""
        )
    )
    indexes = set(sql("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"))
    return columns, constraints, indexes


def assert_schema_is_djangos(db: LegacyDatabase) -> None:
    """The adopted database's schema is the one Django's migrations make in the test database, but for
    alembic_version (left in place) and the ids' SERIAL sequences. Needs the django_db mark."""

    def django_sql(statement):
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall()

    fresh = schema(django_sql)
    legacy_columns, legacy_constraints, legacy_indexes = schema(db.sql)
    alembic = {("alembic_version", "version_num", "character varying", 32, "NO", None)}
    assert legacy_columns == fresh[0] | alembic
    alembic_key = ("alembic_version", "alembic_version_pkc", "p", "PRIMARY KEY (version_num)")
    assert legacy_constraints == fresh[1] | {alembic_key}
    assert {row[:2] for row in legacy_indexes} == {row[:2] for row in fresh[2]} | {
        ("alembic_version", "alembic_version_pkc")
    }
