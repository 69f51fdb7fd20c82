from django.contrib import admin
from django.urls import include, path

from service_center.views_health import healthz, livez

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("livez", livez),
    # The claim ticket PDF lives beside the API (workflows/ticket_urls.py).
    path("api/v1/", include("workflows.ticket_urls")),
    path("", include("workflows.api_urls")),
    path("", include("workflows.page_urls")),
]

# Errors outside DRF (unknown /api/ paths, a crash) still answer JSON under /api/; every other
# path gets a styled, translated page.
handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
