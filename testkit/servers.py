"""Real servers on loopback for the pipeline tests: moto's S3 server, the fake OpenAI server, and
django-q2 worker clusters (`manage.py qcluster` in their own processes)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class S3Bucket:
    endpoint: str
    name: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_STORAGE_BUCKET_NAME": self.name,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_ADDRESSING_STYLE": "path",
        }

    def storages(self) -> dict:
        return {
            "default": {
                "BACKEND": "generation.integrations.storage.PutObjectS3Storage",
                "OPTIONS": {
                    "bucket_name": self.name,
                    "endpoint_url": self.endpoint,
                    "region_name": "us-east-1",
                    "access_key": "testing",
                    "secret_key": "testing",
                    "addressing_style": "path",
                    "querystring_auth": False,
                    "default_acl": None,
                    "file_overwrite": True,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def public_read_policy(bucket_name: str) -> str:
    """The bucket policy the README recommends: anyone may read the persona files under avatars/, nobody may list
    or write, and nothing else is public (a prepared ZIP under exports/ goes out only by a presigned link)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadOfImages",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket_name}/avatars/*",
                }
            ],
        }
    )


def new_bucket(endpoint: str) -> S3Bucket:
    bucket = S3Bucket(endpoint, f"avatars-{uuid.uuid4().hex[:10]}")
    client = bucket.client()
    client.create_bucket(Bucket=bucket.name)
    client.put_bucket_policy(Bucket=bucket.name, Policy=public_read_policy(bucket.name))
    return bucket


@dataclass
class Cluster:
    """One `manage.py qcluster` process, with the environment the test gives it."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def start(self) -> Cluster:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_", "Q_"))}
        environment |= self.env | self.extra
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches its workers too
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole cluster at once: no clean shutdown, jobs in flight are cut off."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """A clean shutdown: SIGTERM to the main process alone, which has its sentinel stop the workers.
        (SIGTERM to the whole group kills the sentinel at once, and the main process then blocks for
        good on a lock the dead sentinel held.) Whatever is still running after 5 s is killed."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def wait_until(condition, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to a server started with `start_new_session` (a graceful stop of its workers), then SIGKILL to
    whatever is left of its process group, which holds only that server."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
