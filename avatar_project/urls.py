import re

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from accounts.decorators import staff_required
from avatar_project.health import healthz

admin.site.site_header = "Avatar Data Generator"
admin.site.site_title = "Avatar Data Generator"
admin.site.index_title = "Operators' console"

# A database that does not answer is a 503 with Retry-After; anything else, Django's 500 page.
handler500 = "avatar_project.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("generation.urls")),
]

if settings.SERVE_MEDIA and not settings.MEDIA_URL.startswith(("http://", "https://", "//")):
    # Local media served by Django itself, with DEBUG off too (a small install with no web server in front), to
    # signed-in staff only: the same people as the pages that show the images.
    media = rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$"
    urlpatterns += [re_path(media, staff_required(serve), {"document_root": settings.MEDIA_ROOT})]
elif settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
