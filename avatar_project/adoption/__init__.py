"""Adopting a PostgreSQL database made by the Flask app, so that Django manages it from then on
(`manage.py adopt_legacy_db`). An app of its own, with no models, since it adopts the tables of
accounts, siteconfig and generation alike.

The schema document's Alembic chain ends at d59663db64e2, and the seven Django migrations in CHAIN
build the same five tables; the original app went on for six more revisions, to fbc78f685fa2, each
reproduced by one Django migration (`revisions/later.py`). A database at any of them is adopted.
Adopting a Flask database means, one module each:

- `inspect`: read the catalogue and count the rows, changing nothing (into a `catalogue.Catalogue`);
- `problems.find_problems`: whatever makes adoption unsafe (an unknown revision, a missing or extra
  column, a type that cannot be converted...), all listed at once so one report tells the operator
  everything;
- `plan.make_plan`: the SQL that turns what Alembic made into what Django's migrations would have
  made, the chain migrations to record as applied, and the later migrations `migrate` will then
  apply (a `steps.Plan`);
- `adopt.apply`: run it, in the caller's transaction, and check that every row is still there.

`adopt.adopt` ties them together in one transaction, so a failure anywhere leaves the database as it
was. The `alembic_version` table is left in place; Django never reads it.

Beside them: `revisions/` (what each known Alembic revision's tables look like once Django's chain
has made them, one module per revision step), `columns` (how a column is described, and the type
changes allowed), `users` (emails, Flask-Bcrypt hashes, staff), `errors` and `report` (what the
command prints).

Nothing is imported here: Django imports this package while it loads the apps, before the models
that `users` needs are ready.
"""
