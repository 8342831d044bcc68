"""`/healthz`: is this instance able to do its job? The database answers, a worker cluster is alive (one has run
the sweep, which every cluster runs each SWEEP_INTERVAL, within NO_WORKER_AFTER) and the storage answers. 200 or
503. A monitor pages someone on it, so it waits one sweep longer than the task page's banner before it says "no
worker".

Anyone may ask whether it is healthy; which part failed is told only to staff, or to a monitor that sends
`Authorization: Bearer <HEALTHZ_TOKEN>`: the parts an instance relies on are nobody else's business. Never a
secret either way."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from generation.integrations import storage
from generation.pipeline.lifecycle import SWEEP_INTERVAL, WORKER_SILENCE
from generation.selectors.progress import worker_last_seen

log = logging.getLogger(__name__)

NO_WORKER_AFTER = WORKER_SILENCE + SWEEP_INTERVAL


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_worker() -> str:
    last_sweep = worker_last_seen()
    if last_sweep is None:
        return "no worker: no cluster has ever run the sweep"
    silence = timezone.now() - last_sweep
    if silence >= NO_WORKER_AFTER:
        return f"no worker: no cluster has run the sweep for {int(silence.total_seconds())} s"
    return "ok"


def check_storage() -> str:
    storage.answers()
    return "ok"


CHECKS = {"database": check_database, "worker": check_worker, "storage": check_storage}


def may_see_details(request: HttpRequest) -> bool:
    """Staff, or the bearer of HEALTHZ_TOKEN (compared in constant time, so its characters cannot be guessed one
    by one from the answer's timing)."""
    token = settings.HEALTHZ_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
        return True
    try:
        return request.user.is_staff
    except DatabaseError:  # the session lives in the database: without it, nobody is known to be staff
        return False


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
    body = {"status": "ok" if healthy else "failed"}
    if may_see_details(request):
        body |= report
    return JsonResponse(body, status=200 if healthy else 503)
