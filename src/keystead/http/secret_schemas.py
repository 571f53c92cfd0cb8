"""Request bodies and parameters of the stored secrets' routes (``http/secrets.py``).

The bounds are the service's (``core.secrets``, ``core.secret_paths``), imported; the
service checks them again, with the rules no schema can state (field names, NFC, dot
segments), so a value the schemas let through is still a 4xx, never a 500. No bound
here echoes a value back: a refused field may hold a secret.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, StrictBool, StrictInt, StringConstraints

from keystead.core.secret_paths import (
    MAX_FIELD_LENGTH,
    MAX_MOUNT_LENGTH,
    MAX_PATH_LENGTH,
    MOUNT_PATTERN,
)
from keystead.core.secrets import (
    KV_V2,
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_METADATA,
    MAX_CUSTOM_VALUE,
    MAX_DURATION_S,
    MAX_FIELDS,
    MAX_MAX_VERSIONS,
    MAX_VERSION_BYTES,
)
from keystead.http.fieldtypes import NoNul, RequestModel

MERGE_PATCH_JSON = "application/merge-patch+json"

# the pattern is the service's to check, with a message that says the rule
MountName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_MOUNT_LENGTH),
    Field(description=f"1-{MAX_MOUNT_LENGTH} characters matching {MOUNT_PATTERN}"),
]
MountParam = Annotated[
    str,
    Path(
        description="the mount (a-z 0-9 _ -; 'secret' exists in every workspace)",
        min_length=1,
        max_length=MAX_MOUNT_LENGTH,
    ),
]
# one leading and one trailing slash are trimmed: the bound leaves room for them
PathParam = Annotated[
    str,
    Path(
        description="the secret's path, e.g. payments/stripe (docs/secrets.md, Addresses)",
        max_length=MAX_PATH_LENGTH + 2,
    ),
]
FolderParam = Annotated[
    str,
    Path(description="the folder to list, e.g. payments/", max_length=MAX_PATH_LENGTH + 2),
]
VersionQuery = Annotated[
    int | None,
    Query(ge=0, le=2**31 - 1, description="a version number (0 or none: the current one)"),
]
DepthQuery = Annotated[
    int | None, Query(ge=0, le=2**31 - 1, description="accepted for Vault parity; fields are flat")
]

FieldName = Annotated[NoNul, StringConstraints(min_length=1, max_length=MAX_FIELD_LENGTH)]
# the sizes are the service's to refuse: over MAX_FIELDS or MAX_VERSION_BYTES is a 413
FieldValue = NoNul
SecretData = Annotated[
    dict[FieldName, FieldValue],
    Field(
        description=f"the fields, each a string; at most {MAX_FIELDS} fields and "
        f"{MAX_VERSION_BYTES} bytes as compact JSON (413 beyond)",
    ),
]
PatchData = Annotated[
    dict[FieldName, FieldValue | None],
    Field(description="fields to set; null removes a field"),
]
Cas = Annotated[
    StrictInt | None,
    Field(
        ge=0,
        le=2**31 - 1,
        description="check-and-set: the version this write replaces (0: create only)",
    ),
]
Version = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Versions = Annotated[list[Version], Field(min_length=1, max_length=MAX_MAX_VERSIONS)]
MaxVersions = Annotated[
    StrictInt | None,
    Field(ge=0, le=MAX_MAX_VERSIONS, description="versions kept (0: the default, 10)"),
]
DeleteAfter = Annotated[
    StrictInt | None,
    Field(
        ge=0,
        le=MAX_DURATION_S,
        description="seconds after which a new version reads as deleted (0: never)",
    ),
]
CustomKey = Annotated[NoNul, StringConstraints(min_length=1, max_length=MAX_CUSTOM_KEY)]
CustomValue = Annotated[NoNul, StringConstraints(max_length=MAX_CUSTOM_VALUE)]
CustomMetadata = Annotated[
    dict[CustomKey, CustomValue],
    Field(max_length=MAX_CUSTOM_METADATA, description="free string pairs (Vault's bounds)"),
]


class MountSettings(RequestModel):
    """A mount's settings: an omitted (or null) one keeps its value."""

    max_versions: MaxVersions = None
    cas_required: StrictBool | None = Field(
        default=None, description="every write must name the version it replaces (cas)"
    )
    delete_version_after: DeleteAfter = None


class MountCreate(RequestModel):
    name: MountName
    kind: Annotated[str, StringConstraints(max_length=32)] = Field(
        default=KV_V2, description="the mount's kind; kv-v2 (KV version 2)"
    )
    config: MountSettings | None = None


class SecretPut(RequestModel):
    data: SecretData
    cas: Cas = None


class SecretPatch(RequestModel):
    data: PatchData
    cas: Cas = None


class VersionsIn(RequestModel):
    versions: Versions = Field(description="the version numbers")


class RollbackIn(RequestModel):
    version: Version = Field(description="the kept version whose value is written again")
    cas: Cas = None


class MetadataUpdate(MountSettings):
    """A secret's settings (``0``: the mount's) and ``custom_metadata`` (replaced
    whole); an omitted one is kept."""

    custom_metadata: CustomMetadata | None = None


__all__ = [
    "MERGE_PATCH_JSON",
    "DepthQuery",
    "FolderParam",
    "MetadataUpdate",
    "MountCreate",
    "MountName",
    "MountParam",
    "MountSettings",
    "PathParam",
    "RollbackIn",
    "SecretPatch",
    "SecretPut",
    "VersionQuery",
    "VersionsIn",
]
