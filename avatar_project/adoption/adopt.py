"""The public verb: `adopt` reads the database, refuses it with every problem listed or plans the
change, and `apply`s the plan, all in one transaction, so that a failure anywhere leaves the
database as it was."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from avatar_project.adoption.errors import AdoptionFailed, AdoptionRefused
from avatar_project.adoption.inspect import inspect, rows
from avatar_project.adoption.plan import make_plan, pending_migrations
from avatar_project.adoption.problems import find_problems
from avatar_project.adoption.revisions import MOVED, TABLES
from avatar_project.adoption.steps import AlreadyAdopted, Options, Outcome, Plan


def adopt(connection, options: Options, *, dry_run: bool = False) -> Plan | Outcome | AlreadyAdopted:
    """The whole adoption in one transaction: a dry run or a refusal rolls back having changed
    nothing; a failure while applying rolls back everything done so far."""
    with transaction.atomic(using=connection.alias):
        if dry_run and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
        catalogue = inspect(connection, lock_timeout=None if dry_run else options.lock_timeout)
        if catalogue.already_adopted:
            return AlreadyAdopted(pending=pending_migrations(connection, catalogue.applied))
        problems = find_problems(catalogue, options)
        if problems:
            raise AdoptionRefused(problems)
        plan = make_plan(connection, catalogue, options)
        if dry_run:
            return plan
        return apply(connection, plan)


def apply(connection, plan: Plan) -> Outcome:
    """Run the plan in the caller's transaction: the schema and data SQL, the chain recorded as
    applied (so `migrate` treats the Flask tables as its own), `migrate` for the rest, then the
    staff flags. Fails, for the caller to roll back, if any table lost or gained a row."""
    with connection.cursor() as cursor:
        for step in plan.schema + plan.data:
            cursor.execute(step.sql)
    recorder = MigrationRecorder(connection)
    for app, name in plan.record:
        recorder.record_applied(app, name)
    output = io.StringIO()
    for app, name in plan.record_later:
        parent = _parent_in_app(connection, app, name)
        call_command("migrate", app, parent, interactive=False, verbosity=1, stdout=output, stderr=output)
        recorder.record_applied(app, name)
    call_command("migrate", interactive=False, verbosity=1, stdout=output, stderr=output)
    applied = {f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()}
    if not set(plan.migrate) <= applied:
        raise AdoptionFailed(f"migrate did not apply {sorted(set(plan.migrate) - applied)}:\n{output.getvalue()}")
    with connection.cursor() as cursor:
        for step in plan.grants:
            cursor.execute(step.sql)
        counts_after = {table: rows(cursor, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}
        values_after = {table: dict(rows(cursor, f"SELECT key, value::text FROM {table}")) for table in plan.values}
        values_after |= {table: dict(rows(cursor, f"SELECT key, value::text FROM {table}")) for table in MOVED.values()}
        staff = [email for (email,) in rows(cursor, "SELECT email FROM users WHERE is_staff ORDER BY email")]
        superusers = [e for (e,) in rows(cursor, "SELECT email FROM users WHERE is_superuser ORDER BY email")]
    changed = {table: (before, counts_after[table]) for table, before in plan.counts.items()}
    changed = {table: counts for table, counts in changed.items() if table not in plan.values and len(set(counts)) > 1}
    if changed:
        raise AdoptionFailed(f"row counts changed (before, after): {changed}")
    lost = _values_lost(plan.values, values_after)
    if lost:
        raise AdoptionFailed(f"settings lost or changed: {', '.join(lost)}")
    return Outcome(plan=plan, counts_after=counts_after, staff=staff, superusers=superusers)


def _values_lost(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """Each setting or flag that is not in its table with its value after adoption, nor where a later revision moved
    it (max_concurrent_tasks, from `settings` into `int_config`, as a whole number)."""
    lost = []
    for table, values in before.items():
        for key, value in values.items():
            moved_to = MOVED.get((table, key))
            if after.get(table, {}).get(key) == value or (moved_to and key in after.get(moved_to, {})):
                continue
            lost.append(f"{table}.{key}")
    return lost


def _parent_in_app(connection, app: str, name: str) -> str:
    """The migration of the same app that `app.name` follows."""
    node = MigrationExecutor(connection).loader.graph.node_map[(app, name)]
    return next(parent.key[1] for parent in node.parents if parent.key[0] == app)
