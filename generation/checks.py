"""Start-up checks (`manage.py check`, and every command that runs them: runserver, qcluster, generate, migrate):
a task must never start that could not sign its images."""

from __future__ import annotations

import datetime as dt

from django.core.checks import Error, Tags, Warning, register

from generation.provenance.credentials import CredentialsError, check_trust_anchors, load

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
