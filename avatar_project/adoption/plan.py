"""The plan: the SQL that turns what Alembic made into what Django's migrations would have made,
the chain migrations to record as applied, the later migrations `migrate` will then apply, and the
notes on what stays as it is."""

from __future__ import annotations

from django.db.migrations.executor import MigrationExecutor

from avatar_project.adoption import users
from avatar_project.adoption.catalogue import Catalogue
from avatar_project.adoption.columns import conversion
from avatar_project.adoption.revisions import ALEMBIC_HEAD, migrations, unique_constraints
from avatar_project.adoption.revisions.documented import FOREIGN_KEYS, INDEXES
from avatar_project.adoption.steps import Options, Plan, Step


def make_plan(connection, catalogue: Catalogue, options: Options) -> Plan:
    """What adoption will do, statement by statement. Assumes `find_problems` found none."""
    schema = _column_steps(catalogue) + _index_and_key_steps(catalogue)
    reproduced = migrations(catalogue.revision or ALEMBIC_HEAD)
    todo = [key for key in reproduced if key not in catalogue.applied]
    record, record_later = _record_order(connection, todo, catalogue.applied)
    grants, staff, superusers = users.grant_steps(connection, catalogue, options)
    return Plan(
        schema=schema,
        data=users.data_steps(connection, catalogue),
        record=record,
        record_later=record_later,
        migrate=pending_migrations(connection, catalogue.applied | set(reproduced)),
        grants=grants,
        notes=_notes(catalogue) + users.notes(catalogue, staff),
        counts=dict(catalogue.counts),
        values={table: dict(values) for table, values in catalogue.values.items()},
        staff=staff,
        superusers=superusers,
    )


def _record_order(
    connection, keys: list[tuple[str, str]], applied: set[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split the migrations to record as applied: those whose every dependency is recorded too, at once; and, from
    the first that comes after Django-only migrations of its app (the persona columns come after generation's own),
    the rest, each recorded once `migrate` has applied what it depends on. So django_migrations never holds a
    migration before its parent."""
    graph = MigrationExecutor(connection).loader.graph
    now: list[tuple[str, str]] = []
    for n, key in enumerate(keys):
        parents = {parent.key for parent in graph.node_map[key].parents}
        if not parents <= set(now) | applied:
            return now, keys[n:]
        now.append(key)
    return now, []


def _column_steps(catalogue: Catalogue) -> list[Step]:
    """One ALTER TABLE per table (one rewrite at most), with every column change it needs."""
    steps = []
    for table, expected in catalogue.expected.items():
        actions, reasons = [], {}
        for name, column in expected.items():
            actual = catalogue.columns[table][name]
            if actual.type != column.type:
                actions.append(f"ALTER COLUMN {name} {conversion(name, actual.type, column.type)}")
                reasons.setdefault(f"{actual.type} -> {column.type}", []).append(name)
            if not column.primary_key and actual.default != column.default:
                # Django's Now() is statement_timestamp(); Alembic's server default was now().
                change = f"SET DEFAULT {column.default}" if column.default else "DROP DEFAULT"
                actions.append(f"ALTER COLUMN {name} {change}")
                reasons.setdefault(f"default {actual.default} -> {column.default}", []).append(name)
            if actual.nullable != column.nullable:
                actions.append(f"ALTER COLUMN {name} {'DROP' if column.nullable else 'SET'} NOT NULL")
                reasons.setdefault("NULL" if column.nullable else "NOT NULL", []).append(name)
        if actions:
            why = "; ".join(f"{', '.join(names)}: {change}" for change, names in reasons.items())
            if any(" AT TIME ZONE 'UTC'" in action for action in actions):
                why += " (stored times read as UTC)"
            steps.append(Step(f"{table}: {why}", f"ALTER TABLE {table}\n    " + ",\n    ".join(actions)))
    return steps


def _index_and_key_steps(catalogue: Catalogue) -> list[Step]:
    steps = []
    for name, (table, columns) in unique_constraints(catalogue.revision or ALEMBIC_HEAD).items():
        index = catalogue.indexes.get(name)
        if index is None:
            steps.append(
                Step(
                    f"{table}: unique constraint {name} is missing",
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)})",
                )
            )
        elif index.constraint is None:
            steps.append(
                Step(
                    f"{table}: Alembic's unique index {name} becomes the unique constraint Django declares",
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}",
                )
            )
    for name, (table, columns) in INDEXES.items():
        if name not in catalogue.indexes:
            steps.append(
                Step(f"{table}: index {name} is missing", f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
            )
    for name, (table, definition) in FOREIGN_KEYS.items():
        found = catalogue.constraints.get(name)
        if found is None:
            steps.append(
                Step(
                    f"{table}: foreign key {name} is missing",
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
                )
            )
        elif found[2] != definition:
            steps.append(
                Step(
                    f"{table}: foreign key {name} is {found[2]}, expected {definition}",
                    f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} {definition}",
                )
            )
    return steps


def pending_migrations(connection, applied: set[tuple[str, str]]) -> list[str]:
    """The migrations `migrate` applies once `applied` is recorded, in its order."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    executor.loader.applied_migrations = {key: graph.nodes[key] for key in applied if key in graph.nodes}
    plan = executor.migration_plan(graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def _notes(catalogue: Catalogue) -> list[str]:
    notes = [
        "alembic_version is left in place (Django never reads it): a record of the Flask revision this "
        "database came from; drop it once the Flask app is retired for good.",
        "The ids keep their SERIAL sequences (Django makes identity columns now); Django supports both "
        "and every insert takes the next number as before.",
    ]
    expected = {*unique_constraints(catalogue.revision or ALEMBIC_HEAD), *INDEXES, *FOREIGN_KEYS}
    extras = sorted(
        f"{table}.{name}"
        for name, (table, kind, _) in catalogue.constraints.items()
        if kind != "p" and name not in expected
    )
    extras += sorted(
        f"{index.table}.{name}"
        for name, index in catalogue.indexes.items()
        if index.constraint is None and name not in expected
    )
    if extras:
        notes.append(f"Left in place, unknown to Django's migrations: {', '.join(extras)}.")
    return notes
