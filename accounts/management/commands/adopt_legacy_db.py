"""`manage.py adopt_legacy_db`: take over the Flask app's PostgreSQL database, keeping every row.
The work is done by accounts.legacy; this only reads the options and prints the outcome."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from accounts import legacy


def email_list(value: str) -> list[str]:
    return [email.strip() for email in value.split(",") if email.strip()]


def explain(error: Exception) -> str:
    """The database's own message, with its detail (which row, which key) when it gave one."""
    text = str(error).strip()
    detail = getattr(getattr(error.__cause__, "diag", None), "message_detail", None)
    if detail and detail not in text:
        text += f" ({detail})"
    if "lock timeout" in text:
        text += " Is the Flask app still running? Stop it first."
    return text


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
        choice = legacy.Options(
            staff_emails=staff_emails, superuser_emails=superuser_emails, all_staff=all_staff, lock_timeout=lock_timeout
        )
        try:
            result = legacy.adopt(connection, choice, dry_run=dry_run)
        except legacy.AdoptionRefused as refused:
            listed = "\n".join(f"  - {problem}" for problem in refused.problems)
            raise CommandError(f"This database cannot be adopted; nothing was changed:\n{listed}") from None
        except (legacy.AdoptionFailed, DatabaseError) as error:
            raise CommandError(f"Adoption failed and was rolled back; nothing was changed: {explain(error)}") from error

        if isinstance(result, legacy.AlreadyAdopted):
            self.stdout.write("Already adopted: django_migrations records the Flask chain. Nothing was changed.")
            if result.pending:
                self.stdout.write(f"{len(result.pending)} later migration(s) are not applied: run manage.py migrate.")
            return
        if dry_run:
            self.stdout.write("Dry run: nothing was changed. Adopting this database would run:")
            self.stdout.write("\n".join(legacy.describe_plan(result)))
            self.write_staff(result.staff, result.superusers, would=True)
            self.write_notes(result.notes)
            return
        self.write_summary(result)

    def write_summary(self, outcome: legacy.Outcome) -> None:
        plan = outcome.plan
        self.stdout.write(self.style.SUCCESS("Adopted: Django now manages this database."))
        for step in plan.schema + plan.data:
            self.stdout.write(f"  {step.why}")
        self.stdout.write(f"Recorded as applied: {', '.join(f'{app}.{name}' for app, name in plan.record)}")
        self.stdout.write(f"Migrations applied: {len(plan.migrate)}")
        self.stdout.write("Rows kept (before -> after):")
        for table, before in plan.counts.items():
            self.stdout.write(f"  {table}: {before} -> {outcome.counts_after[table]}")
        self.write_staff(outcome.staff, outcome.superusers, would=False)
        self.write_notes(plan.notes)

    def write_staff(self, staff: list[str], superusers: list[str], *, would: bool) -> None:
        verb = "would be" if would else "made"
        if staff:
            self.stdout.write(f"Staff {verb}: {', '.join(staff)}")
            if superusers:
                self.stdout.write(f"  of whom superusers: {', '.join(superusers)}")
        elif would:
            self.stdout.write(
                "No one would be made staff: add --staff-emails a@x.com,b@y.com, --all-staff or --superuser-emails."
            )
        else:
            self.stdout.write(
                "No one was made staff, and only staff can use the web app and the admin. To grant it: "
                "`manage.py ensure_superuser --email you@example.com` (creates that account or gives it a new "
                "password), then tick 'Staff status' for the others in Admin → Accounts → Users."
            )

    def write_notes(self, notes: list[str]) -> None:
        for note in notes:
            self.stdout.write(f"Note: {note}")
