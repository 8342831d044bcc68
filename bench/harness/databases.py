"""A fresh PostgreSQL database per benchmark, copied from one migrated template per run; plain SQL on it; and a
Redis database of the benchmark's own."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import redis

from bench.harness.children import child_env, close_django_children
from bench.harness.processes import ROOT


def server_url() -> str:
    """A URL of the PostgreSQL server (its database does not matter): DATABASE_URL when it names one, else the
    local server scripts/local-postgres finds, starts or sets up."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return url.replace("pgsql://", "postgres://", 1)
    found = subprocess.run([str(ROOT / "scripts" / "local-postgres")], capture_output=True, text=True, timeout=60)
    if found.returncode != 0 or not found.stdout.strip():
        raise RuntimeError(f"no PostgreSQL for the benchmarks: {found.stderr.strip()}")
    return found.stdout.strip()


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def admin_connection(url: str) -> psycopg.Connection:
    return psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10)


@contextlib.contextmanager
def database(bench: str) -> Iterator[str]:
    """A new database `bench_<bench>_<random>`, a copy of the run's migrated template; yields its URL. Dropped at
    the end, WITH (FORCE) so that connections a killed worker left behind cannot keep it alive."""
    url = server_url()
    template = migrated_template(url)
    name = f"bench_{bench}_{secrets.token_hex(4)}"
    with admin_connection(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db_url = with_database(url, name)
    try:
        yield db_url
    finally:
        close_django_children(lambda key: json.loads(key).get("DATABASE_URL") == db_url)
        drop_database(url, name)


_template: str | None = None


def migrated_template(url: str) -> str:
    """A database migrated once per run by `manage.py migrate` in a subprocess, which each benchmark's database
    copies (a fraction of a second, where a migrate takes over one); dropped when the run exits."""
    global _template
    if _template is None:
        name = f"bench_template_{secrets.token_hex(4)}"
        with admin_connection(url) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        atexit.register(drop_database, url, name)
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=child_env({"DATABASE_URL": with_database(url, name)}),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed on {name}:\n{migrated.stderr[-3000:]}")
        _template = name
    return _template


def drop_database(url: str, name: str) -> None:
    with admin_connection(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(db_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


@contextlib.contextmanager
def redis_database() -> Iterator[str]:
    """A Redis database of our own, at REDIS_URL's server or 127.0.0.1:6379: an empty one among 1-12 (the tests use
    13). The jobs' keys are deleted at the end."""
    server = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
    base = f"{server.scheme}://{server.netloc}"
    for number in range(12, 0, -1):
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.dbsize() == 0:
            break
        client.close()
    else:
        raise RuntimeError("no empty Redis database among 1-12")
    try:
        yield f"{base}/{number}"
    finally:
        for key in client.scan_iter("django_q:*"):
            client.delete(key)
        client.close()
