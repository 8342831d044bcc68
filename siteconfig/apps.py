from django.apps import AppConfig


class SiteconfigConfig(AppConfig):
    default_auto_field = "django.db.models.AutoField"
    name = "siteconfig"
    verbose_name = "Site configuration"
