"""The shared metadata and column types of every table."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

Json = sa.JSON().with_variant(JSONB(), "postgresql")
NullableJson = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON where Python None is SQL NULL (not JSON null), so ``IS NULL`` finds it."""
Stamp = sa.DateTime(timezone=True)

__all__ = ["Json", "NullableJson", "Stamp", "metadata"]
