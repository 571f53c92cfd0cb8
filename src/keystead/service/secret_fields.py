"""Checks of the scalar arguments of ``ks.secrets`` (the values' own checks are in
``keystead.core.secrets``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keystead.core.secrets import MAX_MAX_VERSIONS, SecretMetadata
from keystead.errors import ValidationError


def cas(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("cas is a version number, 0 or more", field="cas")
    return value


def version(value: object) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("a version is a number, 1 or more", field="version")
    return value


def versions(values: object) -> list[int]:
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ValidationError("versions is a non-empty list of version numbers", field="versions")
    if len(values) > MAX_MAX_VERSIONS:
        raise ValidationError(f"at most {MAX_MAX_VERSIONS} versions at once", field="versions")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("a version is a number, 1 or more", field="versions")
    return sorted(set(values))


def settings(secret: SecretMetadata) -> dict[str, Any]:
    return {
        "max_versions": secret.max_versions,
        "cas_required": secret.cas_required,
        "delete_version_after": secret.delete_version_after,
        "custom_metadata": secret.custom_metadata,
    }


__all__ = ["cas", "settings", "version", "versions"]
