"""Revision d59663db64e2 (create_config_table_for_boolean_settings), the one the schema document
describes: its five tables as the seven Django migrations in CHAIN make them (tests/test_schema.py
checks the same), which is what adoption turns the Alembic-made tables into.

Every SQL identifier in a plan comes from the constants here, never from the database or the command
line, so none needs quoting; values (emails) are quoted by the driver.
"""

from __future__ import annotations

from avatar_project.adoption.columns import ID, NOW, TS, Column, varchar

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

EXPECTED_COLUMNS: dict[str, dict[str, Column]] = {
    "users": {
        "id": ID,
        "email": Column(varchar(255)),
        "password_hash": Column(varchar(255)),
        "created_at": Column(TS),
        "last_login": Column(TS, nullable=True),
        "is_active": Column("boolean"),
    },
    "settings": {
        "id": ID,
        "key": Column(varchar(255)),
        "value": Column("text"),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
    },
    "config": {
        "id": ID,
        "key": Column(varchar(255)),
        "value": Column("boolean"),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
    },
    "generation_tasks": {
        "id": ID,
        "task_id": Column(varchar(12)),
        "user_id": Column("integer"),
        "persona_description": Column("text"),
        "bio_language": Column(varchar(100)),
        "number_to_generate": Column("integer"),
        "images_per_persona": Column("integer"),
        "status": Column(varchar(50), default="'pending'::character varying"),
        "error_log": Column("text", nullable=True),
        "created_at": Column(TS, default=NOW),
        "updated_at": Column(TS, default=NOW),
        "completed_at": Column(TS, nullable=True),
    },
    "generation_results": {
        "id": ID,
        "task_id": Column("integer"),
        "batch_number": Column("integer"),
        "firstname": Column(varchar(100)),
        "lastname": Column(varchar(100)),
        "gender": Column(varchar(10)),
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
