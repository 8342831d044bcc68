"""`manage.py adopt_legacy_db`: take over the Flask app's PostgreSQL database, keeping every row.
The work is done by avatar_project.adoption; this only reads the options and prints the outcome."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from avatar_project.adoption import report
from avatar_project.adoption.adopt import adopt
from avatar_project.adoption.errors import AdoptionFailed, AdoptionRefused
from avatar_project.adoption.steps import AlreadyAdopted, Options


def email_list(value: str) -> list[str]:
    return [email.strip() for email in value.split(",") if email.strip()]


class Command(BaseCommand):
    help = (
        "Adopt a database made by the Flask app (Alembic revision d59663db64e2): check it, convert what "
        "Django makes differently, record the matching migrations as applied and migrate the rest, "
        "keeping every row. Point DATABASE_URL at it. Changes nothing if any check fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print every statement; change nothing.")
        staff = parser.add_mutually_exclusive_group()
        staff.add_argument("--staff-emails", type=email_list, default=[], help="Comma-separated: make these staff.")
        staff.add_argument("--all-staff", action="store_true", help="Make every active user staff.")
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            help="Seconds to wait for the Flask tables to be free (default 10); stop the Flask app first.",
        )
        parser.add_argument(
            "--superuser-emails", type=email_list, default=[], help="Comma-separated: make these staff superusers."
        )

    def handle(self, *args, dry_run, staff_emails, all_staff, superuser_emails, lock_timeout, **options):
        choice = Options(
            staff_emails=staff_emails, superuser_emails=superuser_emails, all_staff=all_staff, lock_timeout=lock_timeout
        )
        try:
            result = adopt(connection, choice, dry_run=dry_run)
        except AdoptionRefused as refused:
            raise CommandError(report.refused(refused.problems)) from None
        except (AdoptionFailed, DatabaseError) as error:
            raise CommandError(report.failed(error)) from error

        if isinstance(result, AlreadyAdopted):
            lines = report.already_adopted(result)
        elif dry_run:
            lines = report.dry_run(result)
        else:
            self.stdout.write(self.style.SUCCESS(report.ADOPTED))
            lines = report.summary(result)
        for line in lines:
            self.stdout.write(line)
