"""Who a sign-in attempt comes from, as django-axes counts it. Both answers must be impossible to vary at will:
an attacker who could change them per request would never be locked out, and one who could choose them could lock
out someone else.

- The address is the TCP peer's (REMOTE_ADDR). Only behind TRUSTED_PROXY_COUNT proxies is X-Forwarded-For read, and
  then only the entry the outermost trusted proxy added: everything left of it is whatever the client sent.
- The username is the email exactly as the sign-in backend looks it up (trimmed, lower-cased)."""

from __future__ import annotations

from django.conf import settings
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
