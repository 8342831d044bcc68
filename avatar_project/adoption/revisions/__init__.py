"""The Flask app's Alembic revisions that adoption knows, one module per revision step, and the
Django migrations that reproduce them.

- `documented`: d59663db64e2, the revision the schema document describes, and the only one adopted
  today: its five tables as Django's chain makes them, and that chain.

The original app went on for six more revisions, to fbc78f685fa2 (config and settings rows, the
`int_config` table, new `generation_results` columns). Each will get a module here beside
`documented`, saying what it adds to the tables and which migrations reproduce it; this `__init__`
then names them in order, oldest first.
"""

from __future__ import annotations

from avatar_project.adoption.revisions.documented import ALEMBIC_HEAD, CHAIN

__all__ = ["ALEMBIC_HEAD", "CHAIN"]
