"""Big ZIPs reach slow readers whole, and the site keeps answering meanwhile: served exactly as the Procfile's
`web` line serves it (gunicorn, DEBUG off), with a worker cluster preparing the ZIP.

gunicorn's worker timeout is lowered to TIMEOUT seconds (GUNICORN_CMD_ARGS, which the Procfile's line reads too)
so that a ZIP of ~15 MB read at 1 MB/s outlasts it several times over, as a 47 MB ZIP outlasts the default 30 s.
Sync workers cut such a download off when the timeout kills the worker that sends it, and a few slow readers hold
every worker. The reader's receive buffer is kept small, so that the server really waits for it."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from generation.integrations import storage
from generation.models import ExportBuild, GenerationTask
from testkit.factories import make_stored_personas, make_task, make_user
from testkit.servers import ROOT, Cluster, database_url, free_port, stop_process_group, wait_until
from tests.conftest import requires_postgresql
from tests.ops.test_load import percentile

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

TIMEOUT = 5  # gunicorn's worker timeout for these tests (30 s by default)
RATE = 1_000_000  # bytes a second: the slow reader
PERSONAS = 300
TILES = 4
FILE_BYTES = 10_000  # 300 personas x 5 files x 10 kB: a ZIP of ~15 MB, 15 s at 1 MB/s
SLOW_READERS = 2
REPORT = ROOT / "test-artifacts" / "big-export-report.json"


def procfile_web_line() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("the Procfile has no web line")


@dataclass
class Site:
    """The Procfile's web server, and the worker cluster that prepares ZIPs (another one on `start_cluster()`)."""

    base: str
    cookie: str
    log_path: Path
    start_cluster: Callable[[], Cluster]
    cluster: Cluster

    def headers(self) -> dict[str, str]:
        # As the TLS-terminating proxy in front of production says it, so DEBUG-off settings serve plain loopback.
        return {"Cookie": self.cookie, "X-Forwarded-Proto": "https"}

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict, bytes]:
        host, port = urlsplit(self.base).hostname, urlsplit(self.base).port
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.request("GET", path, headers=self.headers())
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def signed_in(user) -> str:
    """The user's session cookie (the session is in the database the server reads)."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def server_environment(extra: dict[str, str]) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "Q_", "REDIS_"))}
    return environment | {
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "ENV_FILE": "/nonexistent/.env",
        "ALLOWED_HOSTS": "127.0.0.1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


@pytest.fixture
def site(transactional_db, tmp_path):
    """Starts the Procfile's web line and a worker cluster on the test database (and on `storage_env`, the
    storage settings they share with this process); both always stopped."""
    started: list = []

    def start(storage_env: dict[str, str], cookie: str) -> Site:
        port = free_port()
        environment = server_environment(storage_env) | {"PORT": str(port), "GUNICORN_CMD_ARGS": f"--timeout {TIMEOUT}"}
        log_path = tmp_path / "gunicorn.log"
        log = log_path.open("wb")
        process = subprocess.Popen(["/bin/sh", "-c", "exec " + procfile_web_line()], cwd=ROOT, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        started.append(lambda: (stop_process_group(process), log.close()))
        cluster_env = server_environment(storage_env) | {"Q_WORKERS": "1", "Q_POLL": "0.1", "FACE_CHECK": "off"}

        def start_cluster() -> Cluster:
            cluster = Cluster(env=cluster_env, log_path=tmp_path / f"qcluster-{len(started)}.log").start()
            started.append(cluster.stop)
            return cluster

        served = Site(f"http://127.0.0.1:{port}", cookie, log_path, start_cluster, start_cluster())
        wait_until(lambda: answers(served, process), timeout=30, message="gunicorn to answer")
        return served

    yield start
    for stop_one in reversed(started):
        stop_one()
    for log_path in sorted(tmp_path.glob("*.log")):
        print(f"--- {log_path.name} ---\n{log_path.read_text(errors='replace')[-4000:]}")


def answers(served: Site, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited with {process.returncode}:\n{served.log_path.read_text()}")
    try:
        return served.get("/tasks/", timeout=2)[0] == 200
    except OSError:
        return False


@dataclass
class Download:
    status: int
    headers: dict
    body: bytes
    seconds: float
    error: str = ""
    waits: int = 0  # 202 answers before the ZIP


def slow_download(served: Site, path: str) -> Download:
    """GET the ZIP as a browser does (asking again after Retry-After while it is prepared), then read it at RATE
    through a small receive window."""
    host, port = urlsplit(served.base).hostname, urlsplit(served.base).port
    waits = 0
    while True:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.sock = sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # before connect: the window it offers
        sock.settimeout(30)
        sock.connect((host, port))
        connection.request("GET", path, headers=served.headers())
        response = connection.getresponse()
        if response.status != 202 or waits > 60:
            break
        response.read()
        connection.close()
        waits += 1
        time.sleep(float(response.getheader("Retry-After", "1")))
    received = bytearray()
    started = time.monotonic()
    error = ""
    try:
        while piece := response.read(16 * 1024):
            received += piece
            ahead = len(received) / RATE - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    except (http.client.HTTPException, OSError) as cut:
        error = f"{type(cut).__name__}: {cut}"
    finally:
        connection.close()
    return Download(response.status, dict(response.getheaders()), bytes(received), time.monotonic() - started,
                    error, waits)  # fmt: skip


def task_list_latencies(served: Site, stop_when: threading.Event) -> tuple[list[float], list[str]]:
    """The task list asked for every quarter second until `stop_when` is set."""
    seconds, errors = [], []
    while not stop_when.is_set():
        started = time.perf_counter()
        try:
            status, _, body = served.get("/tasks/", timeout=30)
            if status != 200 or b"Your tasks" not in body:
                errors.append(f"task list answered {status}")
        except OSError as error:
            errors.append(f"task list: {type(error).__name__}: {error}")
        seconds.append(time.perf_counter() - started)
        stop_when.wait(0.25)
    return seconds, errors


def expected_files(task: GenerationTask, base: bytes, tile: bytes) -> dict[str, bytes]:
    files = {}
    for result in task.results.order_by("pk"):
        folder = f"{result.firstname}_{result.lastname}"
        files[f"{folder}/base.jpg"] = base
        files |= {f"{folder}/{n}.jpg": tile for n in range(1, TILES + 1)}
    return files


def assert_whole_zip(body: bytes, task: GenerationTask, base: bytes, tile: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    names = set(archive.namelist())
    files = expected_files(task, base, tile)
    assert set(files) | {"personas.csv", "personas.json"} <= names, sorted(set(files) - names)[:5]
    assert all(archive.read(name) == data for name, data in files.items())
    assert len({name for name in names if name.endswith("/persona.json")}) == task.results.count()
    assert len(json.loads(archive.read("personas.json"))["personas"]) == task.results.count()
    return archive


def blobs() -> tuple[bytes, bytes]:
    """Incompressible file contents (the ZIP stores, never deflates, images)."""
    return os.urandom(FILE_BYTES), os.urandom(FILE_BYTES)


def figures(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"count": len(ordered), "p50_ms": round(percentile(ordered, 0.5) * 1000, 1),
            "p95_ms": round(percentile(ordered, 0.95) * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}  # fmt: skip


def test_a_300_persona_zip_reaches_slow_readers_whole_while_the_task_list_keeps_answering(site):
    base, tile = blobs()
    operator = make_user("big-exports@example.com", is_staff=True)
    task = make_task(operator, status="completed", number_to_generate=PERSONAS, images_per_persona=TILES)
    make_stored_personas(task, PERSONAS, base, tile, tiles=TILES)
    served = site({}, signed_in(operator))

    path = f"/tasks/{task.task_code}/export.zip"
    downloads: list[Download] = []
    done = threading.Event()
    latencies: list = []
    listing = threading.Thread(target=lambda: latencies.append(task_list_latencies(served, done)), daemon=True)
    readers = [threading.Thread(target=lambda: downloads.append(slow_download(served, path)), daemon=True)
               for _ in range(SLOW_READERS)]  # fmt: skip
    listing.start()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=120)
    done.set()
    listing.join(timeout=40)
    assert len(downloads) == SLOW_READERS, "a slow reader is stuck"
    ((seconds, errors),) = latencies

    report = {
        "timeout_s": TIMEOUT,
        "zip_bytes": [len(d.body) for d in downloads],
        "download_s": [round(d.seconds, 1) for d in downloads],
        "answers_202_before_the_zip": [d.waits for d in downloads],
        "task_list_during_downloads": figures(seconds),
    }
    print("\n", json.dumps(report, indent=2))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")

    for download in downloads:
        assert (download.status, download.error) == (200, ""), download
        assert download.seconds > TIMEOUT  # it did outlast gunicorn's timeout
        assert int(download.headers["Content-Length"]) == len(download.body)
        assert_whole_zip(download.body, task, base, tile)
    assert errors == []
    assert len(seconds) >= 10 and percentile(sorted(seconds), 0.95) < 2.0, report["task_list_during_downloads"]
    assert "WORKER TIMEOUT" not in served.log_path.read_text(errors="replace")


def test_with_s3_the_zip_is_a_presigned_link_that_downloads(site, s3_bucket):
    base, tile = blobs()
    operator = make_user("s3-exports@example.com", is_staff=True)
    task = make_task(operator, status="completed", number_to_generate=20, images_per_persona=TILES)
    make_stored_personas(task, 20, base, tile, tiles=TILES)
    served = site(s3_bucket.env(), signed_in(operator))
    path = f"/tasks/{task.task_code}/export.zip"

    status, headers, _ = served.get(path)
    assert status == 202 and headers["Retry-After"]
    status, headers = wait_until(lambda: ready(served, path), timeout=60, message="the ZIP to be prepared")
    assert status == 302 and headers["Cache-Control"] == "no-store"
    link = headers["Location"]
    assert link.startswith(f"{s3_bucket.endpoint}/{s3_bucket.name}/exports/{task.task_code}/")
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=" in link
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(link, timeout=30) as download:  # no cookie: the link alone opens it
        disposition, body = download.headers["Content-Disposition"], download.read()
    assert disposition == f'attachment; filename="personas-{task.task_code}.zip"'
    assert_whole_zip(body, task, base, tile)
    assert s3_bucket.keys(f"exports/{task.task_code}/") == [urlsplit(link).path.split(f"/{s3_bucket.name}/")[1]]


def ready(served: Site, path: str):
    status, headers, _ = served.get(path)
    return (status, headers) if status != 202 else None


def test_a_zip_build_cut_off_by_a_killed_worker_is_prepared_again_and_arrives_whole(site, tmp_path):
    """The build is held midway on a file that cannot be read yet (a named pipe, opened but never written), its
    cluster killed there, and the file then made whole: the next cluster prepares the ZIP again, once the first
    build has been quiet for EXPORT_BUILD_STALE_SECONDS."""
    base, tile = blobs()
    operator = make_user("killed-exports@example.com", is_staff=True)
    task = make_task(operator, status="completed", number_to_generate=20, images_per_persona=TILES)
    results = make_stored_personas(task, 20, base, tile, tiles=TILES)
    stuck = Path(settings.MEDIA_ROOT) / storage.tile_key(task.task_code, results[10].pk, 2)
    stuck.unlink()
    os.mkfifo(stuck)
    served = site({"EXPORT_BUILD_STALE_SECONDS": "3"}, signed_in(operator))
    path = f"/tasks/{task.task_code}/export.zip"

    assert served.get(path)[0] == 202
    writer = wait_until(lambda: reader_waits(stuck), timeout=30, message="the build to reach the held file")
    first = ExportBuild.objects.get(task=task)
    served.cluster.kill()  # midway: ten personas copied, the rest not
    os.close(writer)
    stuck.unlink()
    stuck.write_bytes(tile)

    served.start_cluster()  # asked again and again, as the 202 says: once the first build is quiet, a new one
    status, headers = wait_until(lambda: ready(served, path), timeout=60, message="the ZIP to be prepared again")
    assert status == 200
    retried = ExportBuild.objects.get(task=task)
    assert retried.token != first.token and retried.key == storage.export_key(task.task_code, retried.token)
    _, _, body = served.get(path)
    assert_whole_zip(body, task, base, tile)
    assert storage.list_files(storage.export_prefix(task.task_code)) == [retried.key]


def reader_waits(fifo: Path) -> int | None:
    """A write end of the pipe once a reader has opened it (the build, blocked on it), else None."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads it yet
        return None
