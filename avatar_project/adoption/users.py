"""The Flask app's users: their emails, which Django stores trimmed and lower-cased; their
Flask-Bcrypt hashes, which keep working once marked for accounts.hashers; and who becomes staff."""

from __future__ import annotations

from django.conf import settings

from accounts.hashers import FlaskBcryptPasswordHasher
from accounts.models import normalize_email
from avatar_project.adoption.catalogue import Catalogue
from avatar_project.adoption.steps import Options, Step

HASHER_PATH = f"{FlaskBcryptPasswordHasher.__module__}.{FlaskBcryptPasswordHasher.__name__}"
LEGACY_HASH_PREFIX = f"{FlaskBcryptPasswordHasher.algorithm}$"
# A bare bcrypt hash as Flask-Bcrypt stored it: $2a$, $2b$ or $2y$, the cost, 53 characters.
BARE_BCRYPT = r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$"


def problems(catalogue: Catalogue, options: Options) -> list[str]:
    """Emails that would become one, staff options naming nobody, and a hasher missing from the
    settings: each stops adoption."""
    found = []
    by_email: dict[str, list[str]] = {}
    for _, email, _ in catalogue.users:
        by_email.setdefault(normalize_email(email), []).append(email)
    for same in by_email.values():
        if len(same) > 1:
            found.append(
                f"users.email: {', '.join(same)} are one address once lower-cased, and Django signs users in "
                "by their lower-cased email: merge or rename them first"
            )
    for flag, emails in (("--staff-emails", options.staff_emails), ("--superuser-emails", options.superuser_emails)):
        found += [f"{flag}: no user with email {email}" for email in emails if normalize_email(email) not in by_email]
    if catalogue.bare_bcrypt_hashes and HASHER_PATH not in settings.PASSWORD_HASHERS:
        found.append(f"settings.PASSWORD_HASHERS lacks {HASHER_PATH}: the Flask users' passwords would be refused")
    return found


def data_steps(connection, catalogue: Catalogue) -> list[Step]:
    """The emails as Django stores them, and the bcrypt hashes marked for the Flask-Bcrypt hasher."""
    steps = []
    renamed = [(pk, normalize_email(email)) for pk, email, _ in catalogue.users if email != normalize_email(email)]
    if renamed:
        # accounts.models.normalize_email itself, row by row, rather than an SQL imitation of it.
        values = ", ".join(connection.ops.compose_sql("(%s, %s)", [pk, email]) for pk, email in renamed)
        steps.append(
            Step(
                f"users: {len(renamed)} email(s) trimmed and lower-cased, as Django stores and looks them up",
                f"UPDATE users SET email = new.email FROM (VALUES {values}) AS new (id, email) WHERE users.id = new.id",
            )
        )
    if catalogue.bare_bcrypt_hashes:
        steps.append(
            Step(
                f"users: {catalogue.bare_bcrypt_hashes} Flask-Bcrypt hash(es) marked {LEGACY_HASH_PREFIX} "
                f"for {HASHER_PATH}",
                f"UPDATE users SET password_hash = '{LEGACY_HASH_PREFIX}' || password_hash "
                f"WHERE password_hash ~ '{BARE_BCRYPT}'",
            )
        )
    return steps


def grant_steps(connection, catalogue: Catalogue, options: Options) -> tuple[list[Step], list[str], list[str]]:
    """Staff and superuser flags, set after `migrate` has added their columns. Emails are matched
    lower-cased, as the data steps leave them."""
    active = [normalize_email(email) for _, email, is_active in catalogue.users if is_active]
    superusers = sorted({normalize_email(email) for email in options.superuser_emails})
    if options.all_staff:
        staff = sorted(set(active) | set(superusers))
    else:
        staff = sorted({normalize_email(email) for email in options.staff_emails} | set(superusers))
    steps = []

    def listed(emails: list[str]) -> str:
        return ", ".join(connection.ops.compose_sql("%s", [email]) for email in emails)

    if options.all_staff:
        steps.append(Step("every active user becomes staff", "UPDATE users SET is_staff = true WHERE is_active"))
    elif options.staff_emails:
        emails = sorted({normalize_email(email) for email in options.staff_emails})
        steps.append(
            Step(
                f"{len(emails)} user(s) become staff",
                f"UPDATE users SET is_staff = true WHERE email IN ({listed(emails)})",
            )
        )
    if superusers:
        steps.append(
            Step(
                f"{len(superusers)} user(s) become staff superusers",
                f"UPDATE users SET is_staff = true, is_superuser = true WHERE email IN ({listed(superusers)})",
            )
        )
    return steps, staff, superusers


def notes(catalogue: Catalogue, staff: list[str]) -> list[str]:
    """Users who cannot sign in after adoption: a hash that is not bcrypt, or staff made inactive."""
    found = []
    if catalogue.other_hashes:
        found.append(
            f"{catalogue.other_hashes} user(s) have a password hash that is not a bcrypt one: they cannot sign in "
            "until someone sets them a new password (Admin → Users, or manage.py changepassword EMAIL)."
        )
    inactive = sorted(normalize_email(email) for _, email, is_active in catalogue.users if not is_active)
    found += [
        f"{email} is made staff but is inactive: it cannot sign in until reactivated."
        for email in inactive
        if email in staff
    ]
    return found
