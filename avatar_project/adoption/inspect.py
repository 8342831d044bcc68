"""Reading what adoption depends on, changing nothing: which Alembic revision the database is at,
its tables, columns, indexes and constraints as PostgreSQL's catalogue has them, the row counts,
and the data checks (NULLs, the users' emails and password hashes)."""

from __future__ import annotations

from avatar_project.adoption.catalogue import ActualColumn, ActualIndex, Catalogue
from avatar_project.adoption.columns import conversion
from avatar_project.adoption.revisions import TABLES
from avatar_project.adoption.users import BARE_BCRYPT

KEY_VALUE_TABLES = ("settings", "config", "int_config")
SCHEMA_FILTER = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
TABLE_KINDS = ["r", "p", "v", "m"]  # tables, partitioned tables, views, materialized views


def rows(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def inspect(connection, *, lock_timeout: float | None = None) -> Catalogue:
    """Read what adoption depends on, without changing anything. With a `lock_timeout` (seconds),
    first take an exclusive lock on the documented tables, held until the transaction ends, so that
    nothing writes to them between the row counts and the end of the adoption; a Flask app still
    using them makes this fail after that long rather than wait forever."""
    catalogue = Catalogue(vendor=connection.vendor)
    if connection.vendor != "postgresql":
        return catalogue
    with connection.cursor() as cursor:
        found = rows(
            cursor,
            f"SELECT relname FROM pg_class WHERE relnamespace = {SCHEMA_FILTER} AND relkind::text = ANY(%s)",
            [TABLE_KINDS],
        )
        catalogue.tables = {name for (name,) in found}
        present = [table for table in TABLES if table in catalogue.tables]
        if lock_timeout is not None and present:
            cursor.execute(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
            cursor.execute(f"LOCK TABLE {', '.join(present)} IN ACCESS EXCLUSIVE MODE")
        if "alembic_version" in catalogue.tables:
            found = rows(cursor, "SELECT version_num FROM alembic_version ORDER BY version_num")
            catalogue.alembic_versions = [version for (version,) in found]
        if "django_migrations" in catalogue.tables:
            catalogue.applied = set(rows(cursor, "SELECT app, name FROM django_migrations"))
        _read_columns(cursor, catalogue, present)
        _read_indexes_and_constraints(cursor, catalogue, present)
        for table in present:
            (catalogue.counts[table],) = rows(cursor, f"SELECT count(*) FROM {table}")[0]
        _read_data_checks(cursor, catalogue)
        _read_values(cursor, catalogue)
    return catalogue


def _read_columns(cursor, catalogue: Catalogue, tables: list[str]) -> None:
    found = rows(
        cursor,
        f"""SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = {SCHEMA_FILTER} AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped""",
        [tables],
    )
    for table, column, type_, nullable, default in found:
        catalogue.columns.setdefault(table, {})[column] = ActualColumn(type_, nullable, default)


def _read_indexes_and_constraints(cursor, catalogue: Catalogue, tables: list[str]) -> None:
    found = rows(
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
    for name, table, unique, plain, columns, contype in found:
        catalogue.indexes[name] = ActualIndex(table, tuple(columns), unique, plain, contype)
    found = rows(
        cursor,
        f"""SELECT con.conname, t.relname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
            WHERE t.relnamespace = {SCHEMA_FILTER} AND t.relname = ANY(%s)
              AND con.contype IN ('p', 'u', 'f', 'c', 'x')""",
        [tables],
    )
    for name, table, contype, definition in found:
        catalogue.constraints[name] = (table, contype, definition)


def _read_data_checks(cursor, catalogue: Catalogue) -> None:
    """NULLs where Django needs NOT NULL, and the users' emails and password hashes."""
    for table, expected in catalogue.expected.items():
        for name, column in expected.items():
            actual = catalogue.columns.get(table, {}).get(name)
            if actual and actual.nullable and not column.nullable:
                (count,) = rows(cursor, f"SELECT count(*) FROM {table} WHERE {name} IS NULL")[0]
                catalogue.null_counts[(table, name)] = count
    users = catalogue.columns.get("users", {})
    usable = all(
        name in users and (users[name].type == column.type or conversion(name, users[name].type, column.type))
        for name, column in catalogue.expected["users"].items()
        if name in ("email", "password_hash", "is_active")
    )
    if usable:  # otherwise the column problems are reported, and these checks would be meaningless
        catalogue.users = rows(cursor, "SELECT id, email, is_active FROM users ORDER BY id")
        catalogue.bare_bcrypt_hashes, catalogue.other_hashes = rows(
            cursor,
            "SELECT count(*) FILTER (WHERE password_hash ~ %s), count(*) FILTER (WHERE password_hash !~ %s) FROM users",
            [BARE_BCRYPT, BARE_BCRYPT],
        )[0]


def _read_values(cursor, catalogue: Catalogue) -> None:
    """The settings and flags by key, as text, so that adoption can show that each one is kept."""
    for table in KEY_VALUE_TABLES:
        if {"key", "value"} <= set(catalogue.columns.get(table, {})):
            found = rows(cursor, f"SELECT key, value::text FROM {table}")
            catalogue.values[table] = dict(found)
