"""Start-up checks (`manage.py check`, and every command that runs them: runserver, qcluster, generate, migrate):
a task must never start that could not sign its images. And with `--deploy`: images must be reachable."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.files.storage import FileSystemStorage
from django.utils.module_loading import import_string

from generation.integrations.provenance.credentials import CredentialsError, check_trust_anchors, load

EXPIRY_WARNING = dt.timedelta(days=30)


@register(Tags.security, "provenance")
def signing_credentials(app_configs, **kwargs) -> list:
    problems = []
    try:
        check_trust_anchors()
    except CredentialsError as error:
        problems.append(Error(str(error), hint="Or leave C2PA_TRUST_ANCHORS empty.", id="generation.E002"))
    try:
        credentials = load()
    except CredentialsError as error:
        hint = "Every stored image is signed (README, Provenance)."
        return [*problems, Error(str(error), hint=hint, id="generation.E001")]
    if problems:
        return problems
    left = credentials.not_after - dt.datetime.now(dt.UTC)
    if left < EXPIRY_WARNING:
        return [
            Warning(
                f"The signing certificate {credentials.subject!r} expires in {left.days} day(s), on "
                f"{credentials.not_after:%Y-%m-%d}.",
                hint="Renew it before it expires: no image is generated once it has.",
                id="generation.W001",
            )
        ]
    return []


def media_is_served_elsewhere() -> bool:
    """A MEDIA_URL on another host (a CDN, a separate file server) is that host's job."""
    return settings.MEDIA_URL.startswith(("http://", "https://", "//"))


@register(Tags.files, deploy=True)
def local_media_is_served(app_configs, **kwargs) -> list:
    """With DEBUG off, Django serves no media unless SERVE_MEDIA says so: local files would be a 404, every image
    on every page broken."""
    storage = import_string(settings.STORAGES["default"]["BACKEND"])
    if settings.DEBUG or settings.SERVE_MEDIA or not issubclass(storage, FileSystemStorage):
        return []
    if media_is_served_elsewhere():
        return []
    return [
        Error(
            f"Images are stored as local files (no AWS_STORAGE_BUCKET_NAME) and nothing serves {settings.MEDIA_URL} "
            "with DEBUG off: every image would be a 404.",
            hint="Store them in a bucket (AWS_STORAGE_BUCKET_NAME), set SERVE_MEDIA=true to have Django serve "
            "them to signed-in staff (small installs), or point MEDIA_URL at the host that serves MEDIA_ROOT.",
            id="generation.E003",
        )
    ]
