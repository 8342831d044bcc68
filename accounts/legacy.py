"""Adopting a PostgreSQL database made by the Flask app, so that Django manages it from then on.

The Flask app's Alembic chain ends at d59663db64e2, and the seven Django migrations in CHAIN build
the same five tables. Adopting a Flask database means:

- `inspect`: read the catalogue and count the rows, changing nothing;
- `find_problems`: whatever makes adoption unsafe (another revision, a missing or extra column, a
  type that cannot be converted...), all listed at once so one report tells the operator everything;
- `make_plan`: the SQL that turns what Alembic made into what Django's migrations would have made,
  the chain migrations to record as applied, and the later migrations `migrate` will then apply;
- `apply`: run it, in the caller's transaction, and check that every row is still there.

`adopt` ties them together in one transaction, so a failure anywhere leaves the database as it was.
The `alembic_version` table is left in place; Django never reads it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from accounts.hashers import FlaskBcryptPasswordHasher
from accounts.models import normalize_email

ALEMBIC_HEAD = "d59663db64e2"

# The Django migrations that reproduce the Alembic chain, in order (see README).
CHAIN = [
    ("accounts", "0001_initial"),
    ("siteconfig", "0001_create_settings_table"),
    ("generation", "0001_create_generation_tasks_table"),
    ("generation", "0002_create_generation_results_table"),
    ("generation", "0003_add_s3_image_url_fields_to_generation_results"),
    ("generation", "0004_convert_image_urls_to_jsonb_array"),
    ("siteconfig", "0002_create_config_table_for_boolean_settings"),
]

HASHER_PATH = f"{FlaskBcryptPasswordHasher.__module__}.{FlaskBcryptPasswordHasher.__name__}"
LEGACY_HASH_PREFIX = f"{FlaskBcryptPasswordHasher.algorithm}$"
# A bare bcrypt hash as Flask-Bcrypt stored it: $2a$, $2b$ or $2y$, the cost, 53 characters.
BARE_BCRYPT = r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$"


@dataclass(frozen=True)
class Column:
    """A column as Django's chain leaves it, in the words of PostgreSQL's catalogue: `type` as
    format_type() prints it, `default` as pg_get_expr() prints it (which is also valid SQL)."""

    type: str
    nullable: bool = False
    default: str | None = None
    primary_key: bool = False


TS = "timestamp with time zone"
NOW = "statement_timestamp()"  # what Django's Now() compiles to


def _varchar(length: int) -> str:
    return f"character varying({length})"


ID = Column("integer", primary_key=True)

# The documented tables as Django's migrations make them (tests/test_schema.py checks the same).
EXPECTED_COLUMNS: dict[str, dict[str, Column]] = {
    "users": {
        "id": ID,
        "email": Column(_varchar(255)),
        "password_hash": Column(_varchar(255)),
        "created_at": Column(TS),
        "last_login": Column(TS, nullable=True),
        "is_active": Column("boolean"),
    },
    "settings": {
        "id": ID,
        "key": Column(_varchar(255)),
        "value": Column("text"),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
    },
    "config": {
        "id": ID,
        "key": Column(_varchar(255)),
        "value": Column("boolean"),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
    },
    "generation_tasks": {
        "id": ID,
        "task_id": Column(_varchar(12)),
        "user_id": Column("integer"),
        "persona_description": Column("text"),
        "bio_language": Column(_varchar(100)),
        "number_to_generate": Column("integer"),
        "images_per_persona": Column("integer"),
        "status": Column(_varchar(50), default="'pending'::character varying"),
        "error_log": Column("text", nullable=True),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
        "completed_at": Column(TS, nullable=True),
    },
    "generation_results": {
        "id": ID,
        "task_id": Column("integer"),
        "batch_number": Column("integer"),
        "firstname": Column(_varchar(100)),
        "lastname": Column(_varchar(100)),
        "gender": Column(_varchar(10)),
        "bio_facebook": Column("text", nullable=True),
        "bio_instagram": Column("text", nullable=True),
        "bio_x": Column("text", nullable=True),
        "bio_tiktok": Column("text", nullable=True),
        "base_image_url": Column("text", nullable=True),
        "images": Column("jsonb", nullable=True),
        "created_at": Column(TS, default=NOW),
    },
}
TABLES = list(EXPECTED_COLUMNS)

# Django declares these as unique constraints; Alembic made the ix_ ones as unique indexes.
UNIQUE_CONSTRAINTS = {
    "ix_users_email": ("users", ("email",)),
    "ix_settings_key": ("settings", ("key",)),
    "ix_config_key": ("config", ("key",)),
    "ix_generation_tasks_task_id": ("generation_tasks", ("task_id",)),
    "uq_generation_tasks_task_id": ("generation_tasks", ("task_id",)),
}
INDEXES = {
    "ix_generation_tasks_user_id": ("generation_tasks", ("user_id",)),
    "ix_generation_tasks_status": ("generation_tasks", ("status",)),
    "ix_generation_results_task_id": ("generation_results", ("task_id",)),
    "ix_generation_results_batch_number": ("generation_results", ("batch_number",)),
}
# As pg_get_constraintdef() prints them, which is also the SQL that creates them.
FOREIGN_KEYS = {
    "fk_generation_tasks_user_id": ("generation_tasks", "FOREIGN KEY (user_id) REFERENCES users(id)"),
    "fk_generation_results_task_id": (
        "generation_results",
        "FOREIGN KEY (task_id) REFERENCES generation_tasks(id) ON DELETE CASCADE",
    ),
}
# Every SQL identifier in a plan comes from the constants above, never from the database or the
# command line, so none needs quoting; values (emails) are quoted by the driver.


class AdoptionRefused(Exception):
    """The database cannot be adopted as it is; `problems` says why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class AdoptionFailed(Exception):
    """Something went wrong while applying the plan; the transaction was rolled back."""


@dataclass
class ActualColumn:
    type: str
    nullable: bool
    default: str | None


@dataclass
class ActualIndex:
    table: str
    columns: tuple[str, ...]
    unique: bool
    plain: bool  # no expression, no WHERE
    constraint: str | None  # 'p', 'u' or 'x' when a constraint owns the index


@dataclass
class Catalogue:
    """What `inspect` found. Row counts and data checks are filled only for tables and columns
    that exist."""

    vendor: str
    tables: set[str] = field(default_factory=set)
    alembic_versions: list[str] | None = None  # None: no alembic_version table
    applied: set[tuple[str, str]] = field(default_factory=set)  # django_migrations, if any
    columns: dict[str, dict[str, ActualColumn]] = field(default_factory=dict)
    indexes: dict[str, ActualIndex] = field(default_factory=dict)
    constraints: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name: (table, type, definition)
    null_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    users: list[tuple[int, str, bool]] = field(default_factory=list)  # (id, email, is_active)
    bare_bcrypt_hashes: int = 0
    other_hashes: int = 0

    @property
    def already_adopted(self) -> bool:
        return set(CHAIN) <= self.applied


@dataclass
class Options:
    staff_emails: list[str] = field(default_factory=list)
    superuser_emails: list[str] = field(default_factory=list)
    all_staff: bool = False
    lock_timeout: float = 10.0


@dataclass(frozen=True)
class Step:
    why: str
    sql: str


@dataclass
class Plan:
    schema: list[Step]
    data: list[Step]
    record: list[tuple[str, str]]  # chain migrations to record as applied
    migrate: list[str]  # "app.name" of the migrations `migrate` then applies
    grants: list[Step]  # after `migrate`, which adds is_staff and is_superuser
    notes: list[str]  # what stays as it is, and why
    counts: dict[str, int]
    staff: list[str]  # emails that end up staff (superusers included)
    superusers: list[str]


@dataclass
class Outcome:
    plan: Plan
    counts_after: dict[str, int]
    staff: list[str]
    superusers: list[str]


def _rows(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


SCHEMA_FILTER = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
TABLE_KINDS = ["r", "p", "v", "m"]  # tables, partitioned tables, views, materialized views


def inspect(connection, *, lock_timeout: float | None = None) -> Catalogue:
    """Read what adoption depends on, without changing anything. With a `lock_timeout` (seconds),
    first take an exclusive lock on the documented tables, held until the transaction ends, so that
    nothing writes to them between the row counts and the end of the adoption; a Flask app still
    using them makes this fail after that long rather than wait forever."""
    catalogue = Catalogue(vendor=connection.vendor)
    if connection.vendor != "postgresql":
        return catalogue
    with connection.cursor() as cursor:
        rows = _rows(
            cursor,
            f"SELECT relname FROM pg_class WHERE relnamespace = {SCHEMA_FILTER} AND relkind::text = ANY(%s)",
            [TABLE_KINDS],
        )
        catalogue.tables = {name for (name,) in rows}
        present = [table for table in TABLES if table in catalogue.tables]
        if lock_timeout is not None and present:
            cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
            cursor.execute(f"LOCK TABLE {', '.join(present)} IN ACCESS EXCLUSIVE MODE")
        if "alembic_version" in catalogue.tables:
            rows = _rows(cursor, "SELECT version_num FROM alembic_version ORDER BY version_num")
            catalogue.alembic_versions = [version for (version,) in rows]
        if "django_migrations" in catalogue.tables:
            catalogue.applied = set(_rows(cursor, "SELECT app, name FROM django_migrations"))
        _read_columns(cursor, catalogue, present)
        _read_indexes_and_constraints(cursor, catalogue, present)
        for table in present:
            (catalogue.counts[table],) = _rows(cursor, f"SELECT count(*) FROM {table}")[0]
        _read_data_checks(cursor, catalogue)
    return catalogue


def _read_columns(cursor, catalogue: Catalogue, tables: list[str]) -> None:
    rows = _rows(
        cursor,
        f"""SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = {SCHEMA_FILTER} AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped""",
        [tables],
    )
    for table, column, type_, nullable, default in rows:
        catalogue.columns.setdefault(table, {})[column] = ActualColumn(type_, nullable, default)


def _read_indexes_and_constraints(cursor, catalogue: Catalogue, tables: list[str]) -> None:
    rows = _rows(
        cursor,
        f"""SELECT i.relname, t.relname, ix.indisunique, ix.indexprs IS NULL AND ix.indpred IS NULL,
                   ARRAY(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n),
                   con.contype
            FROM pg_index ix
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_class t ON t.oid = ix.indrelid
            LEFT JOIN pg_constraint con
                   ON con.conindid = ix.indexrelid AND con.conrelid = t.oid AND con.contype IN ('p', 'u', 'x')
            WHERE t.relnamespace = {SCHEMA_FILTER} AND t.relname = ANY(%s)""",
        [tables],
    )
    for name, table, unique, plain, columns, contype in rows:
        catalogue.indexes[name] = ActualIndex(table, tuple(columns), unique, plain, contype)
    rows = _rows(
        cursor,
        f"""SELECT con.conname, t.relname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
            WHERE t.relnamespace = {SCHEMA_FILTER} AND t.relname = ANY(%s)
              AND con.contype IN ('p', 'u', 'f', 'c', 'x')""",
        [tables],
    )
    for name, table, contype, definition in rows:
        catalogue.constraints[name] = (table, contype, definition)


def _read_data_checks(cursor, catalogue: Catalogue) -> None:
    """NULLs where Django needs NOT NULL, and the users' emails and password hashes."""
    for table, expected in EXPECTED_COLUMNS.items():
        for name, column in expected.items():
            actual = catalogue.columns.get(table, {}).get(name)
            if actual and actual.nullable and not column.nullable:
                (count,) = _rows(cursor, f"SELECT count(*) FROM {table} WHERE {name} IS NULL")[0]
                catalogue.null_counts[(table, name)] = count
    users = catalogue.columns.get("users", {})
    usable = all(
        name in users and (users[name].type == column.type or _conversion(name, users[name].type, column.type))
        for name, column in EXPECTED_COLUMNS["users"].items()
        if name in ("email", "password_hash", "is_active")
    )
    if usable:  # otherwise the column problems are reported, and these checks would be meaningless
        catalogue.users = _rows(cursor, "SELECT id, email, is_active FROM users ORDER BY id")
        catalogue.bare_bcrypt_hashes, catalogue.other_hashes = _rows(
            cursor,
            "SELECT count(*) FILTER (WHERE password_hash ~ %s), count(*) FILTER (WHERE password_hash !~ %s) FROM users",
            [BARE_BCRYPT, BARE_BCRYPT],
        )[0]


def _conversion(column: str, actual: str, expected: str) -> str | None:
    """The `TYPE ...` clause that converts `actual` to `expected` without losing anything, or None
    when there is no such conversion."""
    if actual == "timestamp without time zone" and expected == TS:
        # The Flask app's times are naive UTC. (Rows stamped by the now() server defaults hold the
        # database server's local time, which is the same thing on a server kept in UTC.)
        return f"TYPE {expected} USING {column} AT TIME ZONE 'UTC'"
    if actual == "json" and expected == "jsonb":
        return f"TYPE {expected} USING {column}::jsonb"
    length = re.fullmatch(r"character varying\((\d+)\)", actual)
    wanted = re.fullmatch(r"character varying\((\d+)\)", expected)
    if length and wanted and int(length[1]) < int(wanted[1]):
        return f"TYPE {expected}"
    if actual.startswith("character varying") and expected == "text":
        return f"TYPE {expected}"
    return None


def _django_tables() -> dict[str, str]:
    """Table name: app label, for every table Django's migrations create."""
    return {
        model._meta.db_table: model._meta.app_label
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def find_problems(catalogue: Catalogue, options: Options) -> list[str]:
    """Everything that stops adoption, one precise line each. Empty means go ahead."""
    if catalogue.vendor != "postgresql":
        return [f"the database is {catalogue.vendor}, not PostgreSQL: the Flask app's database is PostgreSQL"]
    problems = []
    if catalogue.alembic_versions is None:
        problems.append("no alembic_version table")
    elif catalogue.alembic_versions != [ALEMBIC_HEAD]:
        found = ", ".join(catalogue.alembic_versions) or "empty"
        problems.append(f"alembic_version is {found}, expected {ALEMBIC_HEAD}")
    problems += _schema_problems(catalogue)
    problems += _data_problems(catalogue, options)
    if catalogue.bare_bcrypt_hashes and HASHER_PATH not in settings.PASSWORD_HASHERS:
        problems.append(f"settings.PASSWORD_HASHERS lacks {HASHER_PATH}: the Flask users' passwords would be refused")
    return problems


def _schema_problems(catalogue: Catalogue) -> list[str]:
    problems = []
    for table, expected in EXPECTED_COLUMNS.items():
        if table not in catalogue.tables:
            problems.append(f"missing table {table}")
            continue
        actual = catalogue.columns.get(table, {})
        for name, column in expected.items():
            found = actual.get(name)
            if found is None:
                problems.append(f"missing column {table}.{name}")
                continue
            if found.type != column.type and _conversion(name, found.type, column.type) is None:
                problems.append(f"column {table}.{name} is {found.type}, expected {column.type}")
            nulls = catalogue.null_counts.get((table, name), 0)
            if nulls:
                problems.append(f"column {table}.{name} has {nulls} NULL value(s), expected NOT NULL")
        problems += [f"unknown extra column {table}.{name}" for name in actual if name not in expected]
        pkey = [d for t, kind, d in catalogue.constraints.values() if t == table and kind == "p"]
        if pkey != ["PRIMARY KEY (id)"]:
            problems.append(f"table {table} has no primary key on id")
    for name, (table, columns) in {**UNIQUE_CONSTRAINTS, **INDEXES}.items():
        index = catalogue.indexes.get(name)
        if index is None or table not in catalogue.tables:
            continue  # created by the plan
        unique = name in UNIQUE_CONSTRAINTS
        if (index.table, index.columns, index.unique, index.plain) != (table, columns, unique, True):
            kind = "unique " if unique else ""
            problems.append(f"index {name} is not a plain {kind}index on {table}({', '.join(columns)})")
    for name, (table, _) in FOREIGN_KEYS.items():
        found = catalogue.constraints.get(name)
        if found and found[0] != table:
            problems.append(f"constraint {name} is on {found[0]}, expected on {table}")
    django_tables = _django_tables()
    migrated_apps = {app for app, _ in catalogue.applied}
    for table in sorted(catalogue.tables):
        app = django_tables.get(table)
        if app and table not in EXPECTED_COLUMNS and app not in migrated_apps:
            problems.append(f"table {table} already exists, but Django's migrations would create it")
    return problems


def _data_problems(catalogue: Catalogue, options: Options) -> list[str]:
    problems = []
    by_email: dict[str, list[str]] = {}
    for _, email, _ in catalogue.users:
        by_email.setdefault(normalize_email(email), []).append(email)
    for same in by_email.values():
        if len(same) > 1:
            problems.append(
                f"users.email: {', '.join(same)} are one address once lower-cased, and Django signs users in "
                "by their lower-cased email: merge or rename them first"
            )
    for flag, emails in (("--staff-emails", options.staff_emails), ("--superuser-emails", options.superuser_emails)):
        problems += [
            f"{flag}: no user with email {email}" for email in emails if normalize_email(email) not in by_email
        ]
    return problems


def make_plan(connection, catalogue: Catalogue, options: Options) -> Plan:
    """What adoption will do, statement by statement. Assumes `find_problems` found none."""
    schema = _column_steps(catalogue) + _index_and_key_steps(catalogue)
    data = []
    renamed = [(pk, normalize_email(email)) for pk, email, _ in catalogue.users if email != normalize_email(email)]
    if renamed:
        # accounts.models.normalize_email itself, row by row, rather than an SQL imitation of it.
        values = ", ".join(connection.ops.compose_sql("(%s, %s)", [pk, email]) for pk, email in renamed)
        data.append(
            Step(
                f"users: {len(renamed)} email(s) trimmed and lower-cased, as Django stores and looks them up",
                f"UPDATE users SET email = new.email FROM (VALUES {values}) AS new (id, email) WHERE users.id = new.id",
            )
        )
    if catalogue.bare_bcrypt_hashes:
        data.append(
            Step(
                f"users: {catalogue.bare_bcrypt_hashes} Flask-Bcrypt hash(es) marked {LEGACY_HASH_PREFIX} "
                f"for {HASHER_PATH}",
                f"UPDATE users SET password_hash = '{LEGACY_HASH_PREFIX}' || password_hash "
                f"WHERE password_hash ~ '{BARE_BCRYPT}'",
            )
        )
    record = [key for key in CHAIN if key not in catalogue.applied]
    grants, staff, superusers = _grant_steps(connection, catalogue, options)
    return Plan(
        schema=schema,
        data=data,
        record=record,
        migrate=_pending_migrations(connection, catalogue.applied | set(CHAIN)),
        grants=grants,
        notes=_notes(catalogue) + _inactive_staff_notes(catalogue, staff),
        counts=dict(catalogue.counts),
        staff=staff,
        superusers=superusers,
    )


def _column_steps(catalogue: Catalogue) -> list[Step]:
    """One ALTER TABLE per table (one rewrite at most), with every column change it needs."""
    steps = []
    for table, expected in EXPECTED_COLUMNS.items():
        actions, reasons = [], {}
        for name, column in expected.items():
            actual = catalogue.columns[table][name]
            if actual.type != column.type:
                actions.append(f"ALTER COLUMN {name} {_conversion(name, actual.type, column.type)}")
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
    for name, (table, columns) in UNIQUE_CONSTRAINTS.items():
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


def _grant_steps(connection, catalogue: Catalogue, options: Options) -> tuple[list[Step], list[str], list[str]]:
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


def _pending_migrations(connection, applied: set[tuple[str, str]]) -> list[str]:
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
    expected = {*UNIQUE_CONSTRAINTS, *INDEXES, *FOREIGN_KEYS}
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
    if catalogue.other_hashes:
        notes.append(
            f"{catalogue.other_hashes} user(s) have a password hash that is not a bcrypt one: they cannot sign in "
            "until someone sets them a new password (Admin → Users, or manage.py changepassword EMAIL)."
        )
    return notes


def _inactive_staff_notes(catalogue: Catalogue, staff: list[str]) -> list[str]:
    inactive = sorted(normalize_email(email) for _, email, is_active in catalogue.users if not is_active)
    return [
        f"{email} is made staff but is inactive: it cannot sign in until reactivated."
        for email in inactive
        if email in staff
    ]


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
    call_command("migrate", interactive=False, verbosity=1, stdout=output, stderr=output)
    applied = {f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()}
    if not set(plan.migrate) <= applied:
        raise AdoptionFailed(f"migrate did not apply {sorted(set(plan.migrate) - applied)}:\n{output.getvalue()}")
    with connection.cursor() as cursor:
        for step in plan.grants:
            cursor.execute(step.sql)
        counts_after = {table: _rows(cursor, f"SELECT count(*) FROM {table}")[0][0] for table in plan.counts}
        staff = [email for (email,) in _rows(cursor, "SELECT email FROM users WHERE is_staff ORDER BY email")]
        superusers = [e for (e,) in _rows(cursor, "SELECT email FROM users WHERE is_superuser ORDER BY email")]
    if counts_after != plan.counts:
        raise AdoptionFailed(f"row counts changed: before {plan.counts}, after {counts_after}")
    return Outcome(plan=plan, counts_after=counts_after, staff=staff, superusers=superusers)


@dataclass
class AlreadyAdopted:
    pending: list[str]


def adopt(connection, options: Options, *, dry_run: bool = False) -> Plan | Outcome | AlreadyAdopted:
    """The whole adoption in one transaction: a dry run or a refusal rolls back having changed
    nothing; a failure while applying rolls back everything done so far."""
    with transaction.atomic(using=connection.alias):
        if dry_run and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
        catalogue = inspect(connection, lock_timeout=None if dry_run else options.lock_timeout)
        if catalogue.already_adopted:
            return AlreadyAdopted(pending=_pending_migrations(connection, catalogue.applied))
        problems = find_problems(catalogue, options)
        if problems:
            raise AdoptionRefused(problems)
        plan = make_plan(connection, catalogue, options)
        if dry_run:
            return plan
        return apply(connection, plan)


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
    for step in plan.grants:
        lines += [f"-- {step.why}", f"{step.sql};"]
    return lines
