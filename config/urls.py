from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import metrics, views
from config.login_views import LoginView, login_code, two_factor_setup
from geo import views as geo_views
from outages import api as outage_api
from outages import api_map
from outages import views as outage_views
from outages.alerts import urls as alerts_urls
from outages.alerts.feeds import AllIncidentsAtom
from outages.sitemaps import SITEMAPS
from reports import api as report_api
from reports import views as report_views

outage_patterns = (
    [
        path("", outage_views.home, name="home"),
        path("s/<slug:slug>/", outage_views.service_detail, name="service"),
        path("data.json", outage_views.home_data, name="home-data"),
        path("s/<slug:slug>/data.json", outage_views.service_data, name="service-data"),
        path("s/<slug:slug>/badge.svg", outage_views.service_badge, name="service-badge"),
        path("s/<slug:slug>/embed/", outage_views.service_embed, name="service-embed"),
        path("s/<slug:slug>/embed/code/", outage_views.service_embed_code, name="service-embed-code"),
        path("map/", outage_views.spike_map, name="map"),
        path("search/", outage_views.search, name="search"),
        path("c/<slug:category>/", outage_views.category, name="category"),
        path("incidents/", outage_views.incident_list, name="incidents"),
        path("incidents.atom", AllIncidentsAtom(), name="incidents-atom"),
        path("incidents/<int:pk>/", outage_views.incident_detail, name="incident"),
    ],
    "outages",
)

api_v1 = [
    path("reports/", report_api.ReportCreateApi.as_view(), name="api-report-create"),
    path("pow/", report_api.PowChallengeApi.as_view(), name="api-pow-challenge"),
    path("services/", outage_api.ServiceListApi.as_view(), name="api-service-list"),
    path("services/<slug:slug>/", outage_api.ServiceDetailApi.as_view(), name="api-service-detail"),
    path(
        "services/<slug:slug>/timeseries/",
        outage_api.ServiceTimeseriesApi.as_view(),
        name="api-service-timeseries",
    ),
    path("services/<slug:slug>/cities/", outage_api.ServiceCitiesApi.as_view(), name="api-service-cities"),
    path("incidents/", outage_api.IncidentListApi.as_view(), name="api-incident-list"),
    path("map/", api_map.MapApi.as_view(), name="api-map"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("", include(outage_patterns)),
    path("s/<slug:slug>/report/", report_views.report_submit, name="report-submit"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # Swagger UI sets style attributes from its script: on this page only, inline styles
        # are allowed (scripts stay 'self' only).
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("i18n/setcountry/", geo_views.set_country, name="set_country"),
    path("review/two-factor/", two_factor_setup, name="two-factor"),
    path("review/", include("outages.review.urls")),
    path("", include(alerts_urls.public_patterns)),
    # The admin signs in through the same view (config/admin_site.py).
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/login/code/", login_code, name="login-code"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The catalogue moved to its own app: old admin addresses of services still work.
    re_path(
        r"^admin/outages/(?P<model>service|problemtype)/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/catalogue/%(model)s/%(rest)s", query_string=True, permanent=True),
    ),
    path("admin/", admin.site.urls),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
