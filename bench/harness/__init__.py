"""What the pipeline benchmarks (1 pipeline, 2 rate limit, 3 overhead, 7 memory) share: a fresh PostgreSQL
database per benchmark, the loopback OpenAI server, moto's S3 server, worker clusters, and Django code run in
child processes.

Every piece is a context manager, entered on one ExitStack per benchmark, so that whatever happens the clusters
are stopped (and their process groups killed if they linger), moto is stopped and the database is dropped.

Where each piece runs, and why:
- The benchmark process itself never sets Django up. The runner runs several benchmarks in one process, and
  Django's settings (the database above all) can be set up once per process; so every piece of Django work
  (submitting a task, bulk-inserting a data set, timing a unit in-process) runs in a child process,
  `python -m bench.harness` (children.py, __main__.py), with the benchmark's own environment. The
  benchmark process reads the results with plain SQL (psycopg).
- The fake OpenAI server runs in a thread of the benchmark process: the process has nothing else to do (it
  polls one row every 0.1 s), so the server has its GIL to itself, and its counters (calls per endpoint and
  status, accepted image calls' times, peak concurrency) are read directly, with no stats endpoint.
- moto runs as a subprocess (`python -m moto.server`): it parses and stores every upload, which is real CPU
  work that must not share a GIL with the fake server.
- Workers are `manage.py qcluster` processes (testkit.servers.Cluster), each in a process group of its own.

The modules, one concern each: databases (PostgreSQL and Redis), children (Django in child processes), datasets
(what the children build), fake_api (the counting loopback server), s3 (moto), workers (the clusters), runs
(warming up, waiting, unit timings), cpu (CPU meters) and processes (ports, waits, process groups). The names the
benchmarks use are re-exported here: `from bench import harness`, then `harness.database(...)`."""

from bench.harness.children import django_call
from bench.harness.cpu import CpuMeter
from bench.harness.databases import database, query, redis_database
from bench.harness.datasets import PERSONAS_PER_BATCH, api_calls_needed
from bench.harness.fake_api import CountingFake, fake_openai
from bench.harness.processes import log, wait_for
from bench.harness.runs import unit_timings, wait_tasks, warm_up, worker_gaps
from bench.harness.s3 import moto_s3
from bench.harness.workers import Workers, worker_env

__all__ = [
    "PERSONAS_PER_BATCH",
    "CountingFake",
    "CpuMeter",
    "Workers",
    "api_calls_needed",
    "database",
    "django_call",
    "fake_openai",
    "log",
    "moto_s3",
    "query",
    "redis_database",
    "unit_timings",
    "wait_for",
    "wait_tasks",
    "warm_up",
    "worker_env",
    "worker_gaps",
]
