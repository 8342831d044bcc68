"""Addresses the database could never answer are refused at the door with a 400 page, before any view or admin
filter sees them: PostgreSQL refuses a NUL character in any text it is sent, which turned `?status__exact=%00`
into a 500. Forms need no such door: Django's form fields refuse NUL with a message on the field."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NUL = "\x00"
REASON = "The address held a NUL character (%00), which no page or filter accepts. Remove it and try again."


def holds_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    return any(NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists())


class RejectNulCharacters:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if holds_nul(request):
            return render(request, "400.html", {"reason": REASON}, status=400)
        return self.get_response(request)
