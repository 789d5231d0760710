from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .api_root import APIRootView
from .metrics import metrics_view

api_v1 = [
    path("", include("users.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("transactions.api.urls")),
]

urlpatterns = [
    re_path(r"^healthz/?$", views.healthz, name="healthz"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    re_path(r"^api/v1/?$", APIRootView.as_view(), name="api-root"),
    path("api/v1/", include(api_v1)),
    # JSON first: the default document, and the format its errors (problem+json) are written in.
    re_path(
        r"^api/schema/?$",
        SpectacularAPIView.as_view(
            renderer_classes=[
                OpenApiJsonRenderer,
                OpenApiJsonRenderer2,
                OpenApiYamlRenderer,
                OpenApiYamlRenderer2,
            ]
        ),
        name="schema",
    ),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("", include("atm.urls")),
]

handler400 = "atm_project.views.bad_request"
handler404 = "atm_project.views.not_found"
handler500 = "atm_project.views.server_error"
