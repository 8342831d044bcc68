import ctypes
import ctypes.util
import logging
import mimetypes
import os
import sys

from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from PIL import Image

from avatar_project import sqlite

log = logging.getLogger("generation.pipeline")


class GenerationConfig(AppConfig):
    default_auto_field = "django.db.models.AutoField"
    name = "generation"
    verbose_name = "Generation"

    def ready(self) -> None:
        from generation.costs import plans
        from generation.integrations import backends, checks  # noqa: F401  (checks: registers them)

        # Costs sit below the integrations: the backend in use tells them what it asks for (models, sizes, prices).
        plans.use(backends.plan)

        # The workers and the commands share the embedded SQLite file with the web server.
        connection_created.connect(sqlite.install, dispatch_uid="avatar_project.sqlite.install")
        if sys.argv[1:2] == ["qcluster"]:
            prepare_for_workers()


def prepare_for_workers() -> None:
    """Before a worker cluster forks its workers (and a new one each time a worker is recycled): import the
    pipeline and make the API and storage clients once, here. No connection is opened, so each worker still
    opens its own; but none spends the ~1.3 s of CPU those imports and clients cost (boto3 reads its service
    models, the openai package is large) before its first unit, and the workers share those pages."""
    cap_malloc_arenas()
    try:
        import generation.services.jobs  # noqa: F401
        from generation.integrations import storage
        from generation.integrations.backends import get_backend

        get_backend()
        storage.make_clients()
        Image.init()  # every Pillow plugin (WebP's for the thumbnails), not imported by each worker's first save
        mimetypes.init()  # the storage's content types, read from the system's files on first use otherwise
        if settings.FACE_CHECK:
            from generation.integrations import face_model

            face_model.load()
    except Exception:  # a unit will report the problem where the operator sees it; the cluster still starts
        log.warning("could not prepare the API and storage clients before forking the workers", exc_info=True)
    restore_sweep_schedules()


def restore_sweep_schedules() -> None:
    """The sweep is what brings a dead worker's units back: a cluster that starts without its schedules makes them.
    The connection this opens is closed again before the fork, so no worker inherits its socket."""
    from generation.pipeline.lifecycle import ensure_sweep_schedules

    try:
        if ensure_sweep_schedules():
            log.warning("the sweep's schedules were missing; made them again")
    except Exception:  # no database yet (before migrate): the cluster's own start reports it
        log.warning("could not check the sweep's schedules", exc_info=True)
    finally:
        connections.close_all()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def cap_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that allocates a memory arena of its own (up to 8 per core) and rarely hands
    arena memory back: a worker's image threads grew its RSS by ~15 MB over its first units (bench/memory.py).
    Two arenas are what MALLOC_ARENA_MAX=2 sets; the forked workers inherit the setting. No-op off glibc, or
    when MALLOC_ARENA_MAX is set in the environment (that wins)."""
    name = ctypes.util.find_library("c")
    if not name or "MALLOC_ARENA_MAX" in os.environ:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version"):
        libc.mallopt(M_ARENA_MAX, arenas)
