"""Whatever makes adoption unsafe (another revision, a missing or extra column, a type that cannot
be converted...), all listed at once so that one report tells the operator everything."""

from __future__ import annotations

from django.apps import apps

from avatar_project.adoption import users
from avatar_project.adoption.catalogue import Catalogue
from avatar_project.adoption.columns import conversion
from avatar_project.adoption.revisions import ALEMBIC_HEAD, FINAL, KNOWN, added_by, unique_constraints
from avatar_project.adoption.revisions.documented import FOREIGN_KEYS, INDEXES
from avatar_project.adoption.steps import Options


def find_problems(catalogue: Catalogue, options: Options) -> list[str]:
    """Everything that stops adoption, one precise line each. Empty means go ahead."""
    if catalogue.vendor != "postgresql":
        return [f"the database is {catalogue.vendor}, not PostgreSQL: the Flask app's database is PostgreSQL"]
    problems = []
    if catalogue.alembic_versions is None:
        problems.append("no alembic_version table")
    elif catalogue.revision is None:
        found = ", ".join(catalogue.alembic_versions) or "empty"
        problems.append(
            f"alembic_version is {found}, expected {ALEMBIC_HEAD} or one of the original app's {len(KNOWN) - 1} "
            f"later revisions, to {FINAL}"
        )
    problems += _schema_problems(catalogue)
    problems += users.problems(catalogue, options)
    return problems


def _django_tables() -> dict[str, str]:
    """Table name: app label, for every table Django's migrations create."""
    return {
        model._meta.db_table: model._meta.app_label
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _extra(table: str, column: str, catalogue: Catalogue) -> str:
    """An extra column, and the revision it would come with when a later one adds it."""
    line = f"unknown extra column {table}.{column}"
    later = added_by(table, column)
    if later and catalogue.revision:
        line += f" (revision {later} adds it, but alembic_version says {catalogue.revision})"
    return line


def _schema_problems(catalogue: Catalogue) -> list[str]:
    problems = []
    expected_tables = catalogue.expected
    unique = unique_constraints(catalogue.revision or ALEMBIC_HEAD)
    for table, expected in expected_tables.items():
        if table not in catalogue.tables:
            problems.append(f"missing table {table}")
            continue
        actual = catalogue.columns.get(table, {})
        for name, column in expected.items():
            found = actual.get(name)
            if found is None:
                problems.append(f"missing column {table}.{name}")
                continue
            if found.type != column.type and conversion(name, found.type, column.type) is None:
                problems.append(f"column {table}.{name} is {found.type}, expected {column.type}")
            nulls = catalogue.null_counts.get((table, name), 0)
            if nulls:
                problems.append(f"column {table}.{name} has {nulls} NULL value(s), expected NOT NULL")
        problems += [_extra(table, name, catalogue) for name in actual if name not in expected]
        pkey = [d for t, kind, d in catalogue.constraints.values() if t == table and kind == "p"]
        if pkey != ["PRIMARY KEY (id)"]:
            problems.append(f"table {table} has no primary key on id")
    for name, (table, columns) in {**unique, **INDEXES}.items():
        index = catalogue.indexes.get(name)
        if index is None or table not in catalogue.tables:
            continue  # created by the plan
        is_unique = name in unique
        if (index.table, index.columns, index.unique, index.plain) != (table, columns, is_unique, True):
            kind = "unique " if is_unique else ""
            problems.append(f"index {name} is not a plain {kind}index on {table}({', '.join(columns)})")
    for name, (table, _) in FOREIGN_KEYS.items():
        found = catalogue.constraints.get(name)
        if found and found[0] != table:
            problems.append(f"constraint {name} is on {found[0]}, expected on {table}")
    django_tables = _django_tables()
    migrated_apps = {app for app, _ in catalogue.applied}
    for table in sorted(catalogue.tables):
        app = django_tables.get(table)
        if app and table not in expected_tables and app not in migrated_apps:
            problems.append(f"table {table} already exists, but Django's migrations would create it")
    return problems
