from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from avatar_project.health import healthz

admin.site.site_header = "Avatar Data Generator"
admin.site.site_title = "Avatar Data Generator"
admin.site.index_title = "Operators' console"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("generation.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
