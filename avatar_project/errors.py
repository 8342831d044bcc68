"""Error pages beyond Django's own. A database that does not answer (down, restarting, out of connections) is
no bug of the page that asked it: the answer is a 503 with `Retry-After`, which browsers, monitors and load
balancers take as "come back shortly", not the generic 500."""

from __future__ import annotations

import re
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

RETRY_AFTER_SECONDS = 30
# SQLite reports a missing table or column (a migration not run) as an OperationalError too: that is no outage,
# and "come back shortly" would hide the true cause.
SCHEMA_PROBLEM = re.compile(r"no such (table|column)|has no column named", re.IGNORECASE)


def database_unreachable(error: BaseException | None) -> bool:
    if isinstance(error, InterfaceError):
        return True
    return isinstance(error, OperationalError) and not SCHEMA_PROBLEM.search(str(error))


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """handler500: Django calls it while handling the exception, wherever it was raised (a view, a middleware
    loading the session), so the exception is the one in hand."""
    if database_unreachable(sys.exc_info()[1]):
        # Rendered without the request: context processors (the signed-in user) would ask the database again.
        page = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request, template_name)
