"""A production web server for tests: gunicorn as the Procfile runs it, DEBUG off, on a free loopback port, with
the environment a test gives it. Requests go through plain urllib with no proxy, redirects not followed, and
`X-Forwarded-Proto: https` as the load balancer in front would send it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from testkit.servers import ROOT, free_port, stop_process_group

SECRET_KEY = "k9$Zq!w2Lr7@Vx4#Tn8^Pb1&Hs6*Jd3(Fm5)Gc0_Yu-=Ea+Wi[Oe]Rt{Ql}Za;Xs"
START_TIMEOUT = 30


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class WebServer:
    base: str
    log_path: Path

    def get(self, path: str, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Answer:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects)
        sent = {"X-Forwarded-Proto": "https", **(headers or {})}
        if cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        request = urllib.request.Request(self.base + path, headers=sent)
        try:
            with opener.open(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_gunicorn(env: dict[str, str], log_path: Path) -> Iterator[WebServer]:
    """gunicorn with DEBUG off and `env` over the test's environment; stopped however the test ends."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "Q_", "REDIS_"))}
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    environment |= {
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ENV_FILE": "/nonexistent/.env",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    } | env
    command = [sys.executable, "-m", "gunicorn", "avatar_project.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = WebServer(f"http://127.0.0.1:{port}", log_path)
        try:
            wait_until_serving(server, process)
            yield server
        finally:
            stop_process_group(process)


def wait_until_serving(server: WebServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{server.log()}")
        with contextlib.suppress(OSError):
            server.get("/accounts/login/")
            return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{server.log()}")
