"""Django work run in child processes: `python -m bench.harness` with Django set up on one environment, kept
for later calls on it, answering one JSON call a line (see bench/harness/__main__.py)."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import select
import subprocess
import sys
import tempfile
import time

from bench.harness.processes import ROOT

RESULT_MARK = "BENCH-RESULT "
# Workers and children sign and check django-q2 jobs with it: one per benchmark process.
SECRET_KEY = secrets.token_urlsafe(50)
# Environment variables a child or worker must not inherit from whoever started the benchmark.
INHERITED_PREFIXES_DROPPED = ("AWS_", "OPENAI_", "Q_")
INHERITED_DROPPED = {"DATABASE_URL", "REDIS_URL", "ENV_FILE", "GRID_LAYOUT_8", "PERSONAS_PER_BATCH"}


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process' environment without anything that configures the project, plus `env`."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(INHERITED_PREFIXES_DROPPED) and k not in INHERITED_DROPPED
    }
    return (
        inherited
        | {
            "DJANGO_SETTINGS_MODULE": "avatar_project.settings",
            "ENV_FILE": "/nonexistent/.env",
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "false",
            "PYTHONPATH": str(ROOT),
        }
        | env
    )


def django_call(env: dict[str, str], target: str, timeout: float = 300, **kwargs):
    """Run `target` ("module:function") with kwargs in a child process with Django set up on `env`; returns what
    the function returned (JSON). The child is kept for later calls on the same environment (Django's start-up
    costs most of a second) until that environment's database is dropped."""
    key = json.dumps(env, sort_keys=True)
    child = django_child(env)
    answer = child.call(target, kwargs, timeout)
    if answer is None or "error" in answer:
        close_django_children(lambda other: other == key)
        raise RuntimeError(f"{target} failed:\n{answer['error'] if answer else child.stderr_tail()}")
    return answer["result"]


class DjangoChild:
    """`python -m bench.harness`: Django set up on one environment, answering one JSON call a line."""

    def __init__(self, env: dict[str, str]) -> None:
        # A file, not a pipe: a pipe nobody reads would fill up and block the child. Closed in close().
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.harness"],
            cwd=ROOT,
            env=child_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
        )

    def call(self, target: str, kwargs: dict, timeout: float) -> dict | None:
        """The answer to one call, skipping whatever else the child prints; None if it ends or runs out of time."""
        self.process.stdin.write(json.dumps({"target": target, "kwargs": kwargs}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = self.process.stdout.readline()
            if not line:
                return None
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
        self.process.kill()
        return None

    def stderr_tail(self, chars: int = 4000) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-chars:].decode(errors="replace")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()
        self.stderr.close()


_django_children: dict[str, DjangoChild] = {}


def django_child(env: dict[str, str]) -> DjangoChild:
    """The kept child for `env`, started now if there is none: call it early (as Workers does) and Django sets
    up while something else runs."""
    key = json.dumps(env, sort_keys=True)
    child = _django_children.get(key)
    if child is None or child.process.poll() is not None:
        child = _django_children[key] = DjangoChild(env)
    return child


def close_django_children(which=lambda key: True) -> None:
    for key in [key for key in _django_children if which(key)]:
        _django_children.pop(key).close()


atexit.register(close_django_children)
