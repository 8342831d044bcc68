"""Who a sign-in attempt comes from, as django-axes counts it. Both answers must be impossible to vary at will:
an attacker who could change them per request would never be locked out, and one who could choose them could lock
out someone else.

- The address is the TCP peer's (REMOTE_ADDR). Only behind TRUSTED_PROXY_COUNT proxies is X-Forwarded-For read, and
  then only the entry the outermost trusted proxy added: everything left of it is whatever the client sent.
- The username is the email exactly as the sign-in backend looks it up (trimmed, lower-cased).

Two limits apply: AXES_FAILURE_LIMIT failures for one (email, address) pair lock that pair, and
SIGN_IN_ADDRESS_FAILURE_LIMIT failures from one address, across all emails, lock that address."""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

from accounts.models import normalize_email


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    # Each trusted proxy appends the address it was reached from: the client is the proxies-th entry from the end.
    return hops[-proxies] if len(hops) >= proxies else peer


def sign_in_username(request: HttpRequest, credentials: dict | None) -> str:
    field = settings.AXES_USERNAME_FORM_FIELD
    raw = (credentials or {}).get(field)
    if raw is None:
        raw = request.POST.get(field, "") if request is not None else ""
    return normalize_email(str(raw))


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's address, whatever the usernames: what a credential stuffer spreads over many
    accounts so that no pair ever reaches AXES_FAILURE_LIMIT. Counted as axes counts a pair: every failure of each
    (email, address) pair whose latest failure is within the cool-off, since axes keeps one count per pair and not
    the time of each failure. A pair quiet for a whole cool-off no longer counts, and a success resets its count."""
    threshold = get_cool_off_threshold(request)
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address, attempt_time__gte=threshold)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class AddressLimitHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second, larger limit per address across usernames
    (SIGN_IN_ADDRESS_FAILURE_LIMIT), since axes applies its one AXES_FAILURE_LIMIT to every parameter combination
    alike. A locked address is refused in the authentication backend, before any password is hashed; other
    addresses, the account owners' own included, are not affected."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        return settings.AXES_LOCK_OUT_AT_FAILURE and address_failures(request) >= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
