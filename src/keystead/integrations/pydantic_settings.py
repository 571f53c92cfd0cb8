"""A pydantic-settings source that reads fields from Keystead.

    from typing import Annotated
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
    from keystead.integrations.pydantic_settings import FromKeystead, KeysteadSettingsSource

    class Settings(BaseSettings):
        stripe_key: Annotated[SecretStr, FromKeystead("secret/payments#stripe_key")]
        debug: bool = False

        @classmethod
        def settings_customise_sources(
            cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        ):
            return (init_settings, env_settings, KeysteadSettingsSource(settings_cls))

A field names its reference with ``FromKeystead(...)`` in ``Annotated``, or, where
annotations are not wanted, ``Field(json_schema_extra={"keystead": "mount/path#field"})``.
Fields without one are left to the other sources. Sources listed first win, as
always with pydantic-settings: above, an environment variable ``STRIPE_KEY``
overrides Keystead (handy in tests); put the Keystead source first to make it win.

Every referenced secret is read when the settings are built, through
``keystead.secrets`` (its default client and short cache) unless a ``reader``
is given; a failure to read is raised, so an app does not start without its
secrets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from keystead import secrets
from keystead.core.secret_paths import parse_reference

SCHEMA_KEY = "keystead"


class FromKeystead:
    """``Annotated[str, FromKeystead("secret/payments#stripe_key")]``: the field's value
    is that field of that secret. The reference is checked when the class is made."""

    __slots__ = ("reference",)

    def __init__(self, reference: str) -> None:
        parsed = parse_reference(reference)
        if parsed.field is None:
            raise ValueError(f"FromKeystead({reference!r}): the reference names no field")
        self.reference = reference

    def __repr__(self) -> str:
        return f"FromKeystead({self.reference!r})"


def reference_of(field: FieldInfo) -> str | None:
    """The reference a field names, if any."""
    for marker in field.metadata:
        if isinstance(marker, FromKeystead):
            return marker.reference
    extra = field.json_schema_extra
    if isinstance(extra, dict):
        named = extra.get(SCHEMA_KEY)
        if isinstance(named, str):
            return named
    return None


class KeysteadSettingsSource(PydanticBaseSettingsSource):
    """Values of the fields that name a Keystead reference."""

    def __init__(
        self, settings_cls: type[BaseSettings], reader: Callable[[str], str] | None = None
    ) -> None:
        super().__init__(settings_cls)
        self._read = reader or secrets.get

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        reference = reference_of(field)
        if reference is None:
            return None, field_name, False
        return self._read(reference), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _complex = self.get_field_value(field, name)
            if value is not None:
                values[field.alias or key] = value
        return values


__all__ = ["SCHEMA_KEY", "FromKeystead", "KeysteadSettingsSource", "reference_of"]
