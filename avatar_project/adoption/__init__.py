"""Adopting a PostgreSQL database made by the Flask app, so that Django manages it from then on
(`manage.py adopt_legacy_db`). An app of its own, with no models, since it adopts the tables of
accounts, siteconfig and generation alike."""
