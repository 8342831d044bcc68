"""What `adopt_legacy_db` prints: the plan as SQL for a dry run, the summary of an adoption, and
the messages of a refusal or a failure. Each function returns the lines; the command writes them."""

from __future__ import annotations

from avatar_project.adoption.errors import explain
from avatar_project.adoption.revisions import TABLES
from avatar_project.adoption.steps import AlreadyAdopted, Outcome, Plan

ADOPTED = "Adopted: Django now manages this database."


def refused(problems: list[str]) -> str:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return f"This database cannot be adopted; nothing was changed:\n{listed}"


def failed(error: Exception) -> str:
    return f"Adoption failed and was rolled back; nothing was changed: {explain(error)}"


def already_adopted(result: AlreadyAdopted) -> list[str]:
    lines = ["Already adopted: django_migrations records the Flask chain. Nothing was changed."]
    if result.pending:
        lines.append(f"{len(result.pending)} later migration(s) are not applied: run manage.py migrate.")
    return lines


def dry_run(plan: Plan) -> list[str]:
    return [
        "Dry run: nothing was changed. Per table, adopting this database would:",
        *table_lines(plan),
        "Statement by statement, it would run:",
        *describe_plan(plan),
        *staff_lines(plan.staff, plan.superusers, would=True),
        *note_lines(plan.notes),
    ]


def describe_plan(plan: Plan) -> list[str]:
    """The plan as SQL and comments, in the order `apply` runs it."""
    lines = []
    for step in plan.schema + plan.data:
        lines += [f"-- {step.why}", f"{step.sql};"]
    if plan.record:
        lines.append("-- record the Flask chain as applied in django_migrations (created if missing):")
        lines += [f"--   {app}.{name}" for app, name in plan.record]
    lines.append(f"-- then `manage.py migrate` applies {len(plan.migrate)} migration(s):")
    lines += [f"--   {name}" for name in plan.migrate]
    if plan.record_later:
        lines.append("-- recording each of these as applied once migrate reaches it (the database has their columns):")
        lines += [f"--   {app}.{name}" for app, name in plan.record_later]
    for step in plan.grants:
        lines += [f"-- {step.why}", f"{step.sql};"]
    return lines


def table_lines(plan: Plan) -> list[str]:
    """Each table: its rows kept, and what changes in it (from the statements' reasons), or that migrate makes it."""
    lines = []
    for table in TABLES:
        if table not in plan.counts:
            lines.append(f"  {table}: not there yet; migrate creates it")
            continue
        prefix = f"{table}: "
        changes = [step.why.removeprefix(prefix) for step in plan.schema + plan.data if step.why.startswith(prefix)]
        kept = f"keep its {plan.counts[table]} row(s)"
        if table in plan.values:
            kept += f" ({', '.join(sorted(plan.values[table])) or 'no keys'})"
        lines.append(f"  {table}: {kept}" + (f"; {'; '.join(changes)}" if changes else "; no change to its columns"))
    return lines


def summary(outcome: Outcome) -> list[str]:
    """What an adoption did, after the ADOPTED headline."""
    plan = outcome.plan
    lines = [f"  {step.why}" for step in plan.schema + plan.data]
    recorded = plan.record + plan.record_later
    lines.append(f"Recorded as applied: {', '.join(f'{app}.{name}' for app, name in recorded)}")
    lines.append(f"Migrations applied: {len(plan.migrate)}")
    lines.append("Rows kept (before -> after):")
    lines += [f"  {table}: {before} -> {outcome.counts_after[table]}" for table, before in plan.counts.items()]
    lines += [
        f"  {table}: made by migrate, {after}"
        for table, after in outcome.counts_after.items()
        if table not in plan.counts
    ]
    return [*lines, *staff_lines(outcome.staff, outcome.superusers, would=False), *note_lines(plan.notes)]


def staff_lines(staff: list[str], superusers: list[str], *, would: bool) -> list[str]:
    verb = "would be" if would else "made"
    if staff:
        lines = [f"Staff {verb}: {', '.join(staff)}"]
        if superusers:
            lines.append(f"  of whom superusers: {', '.join(superusers)}")
        return lines
    if would:
        return ["No one would be made staff: add --staff-emails a@x.com,b@y.com, --all-staff or --superuser-emails."]
    return [
        "No one was made staff, and only staff can use the web app and the admin. To grant it: "
        "`manage.py ensure_superuser --email you@example.com` (creates that account or gives it a new "
        "password), then tick 'Staff status' for the others in Admin → Accounts → Users."
    ]


def note_lines(notes: list[str]) -> list[str]:
    return [f"Note: {note}" for note in notes]
