from __future__ import annotations

from django.urls import path

from outages.alerts import feeds, views

# Public: feeds and webhook subscriptions of a service; included at the site root.
public_patterns = (
    [
        path("s/<slug:slug>/incidents.atom", feeds.ServiceIncidentsAtom(), name="feed-atom"),
        path("s/<slug:slug>/incidents.rss", feeds.ServiceIncidentsRss(), name="feed-rss"),
        path("s/<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
        path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
        path("s/<slug:slug>/subscribe/email/", views.email_subscribe, name="email-subscribe"),
        path("alerts/confirm/<str:token>/", views.email_confirm, name="email-confirm"),
        path("alerts/unsubscribe/<str:token>/", views.email_unsubscribe_view, name="email-unsubscribe"),
    ],
    "subscriptions",
)
