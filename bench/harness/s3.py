"""moto's S3 server, one per run in a subprocess of its own, and a new bucket on it per benchmark."""

from __future__ import annotations

import atexit
import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator

from bench.harness.processes import ROOT, free_port, stop_group, wait_for
from testkit.servers import S3Bucket, new_bucket


@contextlib.contextmanager
def moto_s3() -> Iterator[S3Bucket]:
    """A new bucket readable by anyone (the README's policy) on the run's S3 server. Its files go with the server,
    in memory, when the run ends."""
    port, pid = moto_server()
    bucket = new_bucket(f"http://127.0.0.1:{port}")
    bucket.server_pgid = pid  # its own session: pid = process group
    yield bucket


_moto: tuple[int, subprocess.Popen] | None = None


def moto_server() -> tuple[int, int]:
    """(port, pid) of moto's S3 server in a subprocess of its own, started on first use and stopped when the run
    exits; each benchmark has a bucket of its own on it."""
    global _moto
    if _moto is None or _moto[1].poll() is not None:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(stop_group, process, 5)

        def listening() -> bool:
            if process.poll() is not None:
                raise RuntimeError("moto.server exited at start")
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, 30, "moto's S3 server")
        _moto = (port, process)
    return _moto[0], _moto[1].pid
