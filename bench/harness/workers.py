"""Worker clusters: `manage.py qcluster` processes (testkit.servers.Cluster) on the benchmark's database, API
server, bucket and broker."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

from bench.harness.children import child_env, django_child
from bench.harness.processes import wait_for
from testkit.fake_openai import FakeOpenAI
from testkit.servers import Cluster, S3Bucket

API_KEY = "sk-bench-0123456789abcdef"


def worker_env(
    db_url: str, fake: FakeOpenAI, bucket: S3Bucket, workers: int, *, redis_url: str = "", **extra: str
) -> dict[str, str]:
    """What a `manage.py qcluster` needs: the benchmark's database, API server, bucket and broker."""
    return {
        "DATABASE_URL": db_url,
        "GENERATION_BACKEND": "openai",
        "FACE_CHECK": "off",  # the loopback server's drawn portraits are no faces
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": API_KEY,
        "Q_WORKERS": str(workers),
        "REDIS_URL": redis_url,
        **bucket.env(),
        **extra,
    }


class Workers:
    """One `manage.py qcluster` (testkit.servers.Cluster), started and waited for until every worker is ready."""

    READY = re.compile(r"ready for work at (\d+)")

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.cluster: Cluster | None = None
        self.log_dir = tempfile.TemporaryDirectory(prefix=f"bench-{name}-")
        self.log_path = Path(self.log_dir.name) / "qcluster.log"

    def __enter__(self) -> Workers:
        workers = int(self.env["Q_WORKERS"])
        self.cluster = Cluster(env=child_env(self.env), log_path=self.log_path).start()
        django_child(self.env)  # sets Django up while the cluster starts: the first submit is then at once
        try:
            wait_for(
                lambda: (
                    self._check_alive()
                    and len(self.worker_pids(alive_only=False)) >= workers
                    and "running." in self.log()
                ),
                60,
                f"{self.name}: {workers} workers ready",
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.cluster is None:
            return
        try:
            self.cluster.kill()  # no clean shutdown needed: the database and the bucket go next
            self.cluster.log.close()
        finally:
            process = self.cluster.process
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # whatever outlived the clean stop
            self.cluster = None
            if os.environ.get("BENCH_KEEP_LOGS"):  # where the time goes, line by line
                shutil.copy(self.log_path, Path(os.environ["BENCH_KEEP_LOGS"]) / f"{self.name}-qcluster.log")
            self.log_dir.cleanup()

    def _check_alive(self) -> bool:
        if not self.alive():
            raise RuntimeError(f"{self.name}: qcluster exited at start:\n{self.log_tail()}")
        return True

    @property
    def pgid(self) -> int:
        return self.cluster.process.pid  # started in a session of its own

    def alive(self) -> bool:
        return bool(self.cluster and self.cluster.process and self.cluster.process.poll() is None)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]

    def worker_pids(self, alive_only: bool = True) -> list[int]:
        """Worker processes in the order they started (recycled workers' successors come later)."""
        pids = [int(pid) for pid in self.READY.findall(self.log())]
        return [pid for pid in pids if not alive_only or Path(f"/proc/{pid}").exists()]
