"""A plain Django view and a DRF view, each behind Keystead."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keystead.integrations.django import require_key
from keystead.integrations.drf import HasKeysteadPermission


@require_key("documents.read")
def documents(request: HttpRequest) -> JsonResponse:
    key = request.keystead  # type: ignore[attr-defined]
    return JsonResponse({"documents": ["a", "b"], "owner": key.owner_id})


class Reports(APIView):
    permission_classes = (HasKeysteadPermission("reports.read"),)

    def get(self, request: Request) -> Response:
        return Response({"reports": [], "key_id": request.auth.key_id})  # type: ignore[union-attr]


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
