from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    """`manage.py adopt_legacy_db`. No models: it adopts the tables of accounts, siteconfig and
    generation alike, so it is an app beside them rather than a part of one."""

    name = "avatar_project.adoption"
    label = "adoption"
    verbose_name = "Adoption of the Flask database"
