import re

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path

from avatar_project.health import healthz
from generation.integrations.checks import media_is_served_elsewhere
from generation.web.views import media_file

admin.site.site_header = "Avatar Data Generator"
admin.site.site_title = "Avatar Data Generator"
admin.site.index_title = "Operators' console"

# A database that does not answer is a 503 with Retry-After; anything else, Django's 500 page.
handler500 = "avatar_project.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("generation.web.urls")),
]

if settings.SERVE_MEDIA and not media_is_served_elsewhere():
    # A small install with no web server in front: Django serves local media, with DEBUG off too.
    media = rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$"
    urlpatterns += [re_path(media, media_file, name="media_file")]
elif settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
