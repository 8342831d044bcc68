"""The original app's six revisions after the documented one (original-app-later-revisions.md), oldest first: what
each adds to the tables, as Django's migrations leave it, and the migration that reproduces it. Three only add rows
(`config` and `settings`), which the tables' shapes do not show; the rows are kept as they are."""

from __future__ import annotations

from avatar_project.adoption.columns import ID, NOW, TS, Column, varchar
from avatar_project.adoption.revisions.revision import Revision

TEXT = Column("text", nullable=True)
PLACE = Column(varchar(255), nullable=True)

# (table, key) of a row a later revision moves, and the table it moves it to.
MOVED = {("settings", "max_concurrent_tasks"): "int_config"}

LATER = [
    Revision("70c50b9233b6", "add_crop_white_borders_config", ("siteconfig", "0003_add_crop_white_borders_config")),
    Revision(
        "d8982580d2a4", "add_randomize_image_style_config", ("siteconfig", "0004_add_randomize_image_style_config")
    ),
    Revision(
        "7e1fabd32d40", "add_max_concurrent_tasks_setting", ("siteconfig", "0005_add_max_concurrent_tasks_setting")
    ),
    Revision(
        "8a3b5c7d9e0f",
        "create_int_config_table_and_migrate_max_concurrent",
        ("siteconfig", "0006_create_int_config_table_and_migrate_max_concurrent"),
        columns={
            "int_config": {
                "id": ID,
                "key": Column(varchar(255)),
                "value": Column("integer"),
                "created_at": Column(TS, default=NOW),
                "updated_at": Column(TS, default=NOW),
            }
        },
        unique_constraints={"ix_int_config_key": ("int_config", ("key",))},
    ),
    Revision(
        "7e69fd85074a",
        "add_supplementary_persona_fields_job_education_location_about",
        ("generation", "0026_add_supplementary_persona_fields_job_education_location_about"),
        columns={
            "generation_results": {
                "job_title": TEXT,
                "workplace": TEXT,
                "edu_establishment": TEXT,
                "edu_study": TEXT,
                "current_city": PLACE,
                "current_state": PLACE,
                "prev_city": PLACE,
                "prev_state": PLACE,
                "about": TEXT,
            }
        },
    ),
    Revision(
        "fbc78f685fa2",
        "add_ethnicity_and_age_to_generation_results",
        ("generation", "0027_add_ethnicity_and_age_to_generation_results"),
        columns={
            "generation_results": {
                "ethnicity": Column(varchar(100), nullable=True),
                "age": Column("integer", nullable=True),
            }
        },
    ),
]
