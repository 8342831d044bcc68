"""Start-up checks (`manage.py check`, and every command that runs them: runserver, qcluster, generate, migrate):
a task must never start that could not sign its images."""

from __future__ import annotations

import datetime as dt

from django.core.checks import Error, Tags, Warning, register

from generation.provenance.credentials import CredentialsError, load

EXPIRY_WARNING = dt.timedelta(days=30)


@register(Tags.security, "provenance")
def signing_credentials(app_configs, **kwargs) -> list:
    try:
        credentials = load()
    except CredentialsError as error:
        return [Error(str(error), hint="Every stored image is signed (README, Provenance).", id="generation.E001")]
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
