"""SQLite shared by the web server, the workers and the commands: one writer at a time.

settings.py makes every transaction take the write lock as it begins (IMMEDIATE), and SQLite waits up to the busy
timeout for it. A statement that still finds the lock taken after that wait is tried again here, in one place, so
that a slow moment is a wait and never a failed step: a lost persona, a crashed command or a 500. Only statements
outside a transaction are tried again (the BEGIN of a new one included): nothing of them was done, whereas inside a
transaction the lock is already held, and trying one statement again would not be the transaction it belongs to."""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

# Tries after the first, each after a full busy timeout: the lock must stay taken for that many timeouts in a row.
LOCKED_RETRIES = 4


def is_locked(error: BaseException) -> bool:
    """SQLite's busy answer: another connection held the write lock for the whole busy timeout."""
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def retry_when_locked(execute, sql, params, many, context):
    """A Django execute wrapper (outermost on every SQLite connection)."""
    connection = context["connection"]
    for retry in range(LOCKED_RETRIES + 1):
        try:
            return execute(sql, params, many, context)
        except OperationalError as error:
            if retry == LOCKED_RETRIES or not is_locked(error) or not connection.get_autocommit():
                raise
            log.warning(
                "SQLite's write lock stayed taken for the whole busy timeout (%s s); waiting again (%s of %s)",
                connection.settings_dict["OPTIONS"].get("timeout", 5),
                retry + 1,
                LOCKED_RETRIES,
            )


def install(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    """On `connection_created`: put the wrapper first on each new SQLite connection, once. First, so that a
    `with connection.execute_wrapper(...)` opened before the connection still removes its own wrapper on exit."""
    if connection.vendor == "sqlite" and retry_when_locked not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, retry_when_locked)
