"""`/healthz`: is this instance able to do its job? The database answers, a worker cluster is alive
(its scheduler has run the minute schedule recently) and the storage answers. 200 or 503, with which
part failed; never a secret."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)
# The sweep runs every 30 s; a scheduler that has not moved it on for this long is gone.
HEARTBEAT_LIMIT = timedelta(minutes=3)


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    from django_q.models import Schedule

    from generation.pipeline.lifecycle import SWEEP_JOB

    next_run = Schedule.objects.filter(func=SWEEP_JOB).order_by("next_run").values_list("next_run", flat=True).first()
    if next_run is None:
        return "failed: the sweep schedule is missing (run migrate)"
    late = timezone.now() - next_run
    if late > HEARTBEAT_LIMIT:
        return f"failed: no worker cluster has run its scheduler for {int(late.total_seconds())} s"
    return "ok"


def check_storage() -> str:
    default_storage.exists("healthz/probe")
    return "ok"


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = {}
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as error:
            log.warning("healthz: %s check failed: %s", name, error)
            report[name] = f"failed: {type(error).__name__}"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse({"status": "ok" if healthy else "failed", **report}, status=200 if healthy else 503)
