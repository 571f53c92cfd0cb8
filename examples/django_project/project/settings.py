"""Settings of the example project: Keystead's middleware checks every request
(but ``/health``) in embedded mode; KEYSTEAD_DATABASE_URL and KEYSTEAD_SECRET
come from the environment."""

from __future__ import annotations

import os
import secrets

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_hex(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "project.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
DATABASES: dict[str, object] = {}

MIDDLEWARE = ["keystead.integrations.django.KeysteadMiddleware"]
KEYSTEAD = {"RULES": [{"path": "/health", "public": True}]}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["keystead.integrations.drf.KeysteadAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["keystead.integrations.drf.HasKeysteadKey"],
    "UNAUTHENTICATED_USER": None,
}
