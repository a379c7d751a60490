from __future__ import annotations

from django.urls import path

from outages.review import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("incidents/<int:pk>/exclude-network/", views.exclude_network, name="exclude-network"),
    path("comments/", views.comments, name="comments"),
    path("comments/act/", views.comments_act, name="comments-act"),
]
