"""A Django site for the tests: plain views with ``require_key`` and DRF views.
``configure()`` sets Django up once per process."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path


def configure() -> None:
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="django-test-only",
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={},
        MIDDLEWARE=["keystead.integrations.django.KeysteadMiddleware"],
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["keystead.integrations.drf.KeysteadAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["keystead.integrations.drf.HasKeysteadKey"],
            "UNAUTHENTICATED_USER": None,
        },
        KEYSTEAD={"PUBLIC": True},
    )
    django.setup()


configure()

from rest_framework.request import Request  # noqa: E402  (needs the settings)
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from keystead.integrations.django import require_key  # noqa: E402
from keystead.integrations.drf import HasKeysteadPermission  # noqa: E402
from keystead.integrations.identity import Identity  # noqa: E402


def _seen(request: HttpRequest) -> dict[str, Any]:
    identity = request.keystead  # type: ignore[attr-defined]
    return {
        "key_id": None if identity is None else identity.key_id,
        "headers": dict(request.headers),
        "query": request.META.get("QUERY_STRING", ""),
        "cookies": request.COOKIES,
    }


@require_key("documents.read")
def documents(request: HttpRequest) -> HttpResponse:
    return JsonResponse({**_seen(request), "body": len(request.body)})


def open_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(_seen(request))


@require_key()
def stream(request: HttpRequest) -> HttpResponse:
    return StreamingHttpResponse(iter([b"a" * 10, b"b" * 20]))  # type: ignore[return-value]


class Reports(APIView):
    permission_classes = (HasKeysteadPermission("reports.read"),)

    def get(self, request: Request) -> Response:
        identity = request.auth
        assert isinstance(identity, Identity)
        return Response({"key_id": identity.key_id, "user": str(request.user)})


class Anyone(APIView):
    def get(self, request: Request) -> Response:
        identity = request.auth
        assert isinstance(identity, Identity)
        return Response({"key_id": identity.key_id})


urlpatterns = [
    path("documents", documents),
    path("open", open_view),
    path("stream", stream),
    path("api/reports", Reports.as_view()),
    path("api/anyone", Anyone.as_view()),
]
