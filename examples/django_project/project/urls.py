from __future__ import annotations

from django.urls import path

from project import views

urlpatterns = [
    path("documents", views.documents),
    path("api/reports", views.Reports.as_view()),
    path("health", views.health),
]
