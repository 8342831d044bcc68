"""Middleware of the project's own: a door for addresses the database could never answer, and the caching
headers of the app's pages."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

NUL = "\x00"
REASON = "The address held a NUL character (%00), which no page or filter accepts. Remove it and try again."


def holds_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    return any(NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists())


class RejectNulCharacters:
    """Addresses the database could never answer are refused at the door with a 400 page, before any view or admin
    filter sees them: PostgreSQL refuses a NUL character in any text it is sent, which turned `?status__exact=%00`
    into a 500. Forms need no such door: Django's form fields refuse NUL with a message on the field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if holds_nul(request):
            return render(request, "400.html", {"reason": REASON}, status=400)
        return self.get_response(request)


class PrivatePages:
    """Every page and partial of the app is someone's own and changes as tasks run: no shared cache may keep it,
    and a browser asks again before showing a kept copy (`private, no-cache`). Responses that say otherwise
    (the admin's and /healthz's never_cache, a download's own header) keep theirs; static files never get here,
    whitenoise answers them first with far-future caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        return response
