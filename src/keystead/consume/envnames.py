"""A secret's field name as an environment variable name.

``--path secret/payments`` puts every field of the secret in the environment under
its *env-safe* name: upper-cased, every character other than ``A-Z 0-9 _`` replaced
by ``_``, and a ``_`` put in front of a leading digit (``stripe_key`` ->
``STRIPE_KEY``, ``db.password`` -> ``DB_PASSWORD``, ``api-key`` -> ``API_KEY``,
``2fa`` -> ``_2FA``). Two fields with the same env-safe name are an error, never a
silent choice.
"""

from __future__ import annotations

import re

from keystead.errors import ValidationError

_UNSAFE = re.compile(r"[^A-Z0-9_]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_LENGTH = 256


def env_name(field: str) -> str:
    """The env-safe name of a secret field (see the module doc)."""
    name = _UNSAFE.sub("_", field.upper())
    return f"_{name}" if name[:1].isdigit() else name


def check_env_name(name: str, *, where: str) -> str:
    """``name`` if a POSIX shell accepts it as a variable name, else ValidationError."""
    if len(name) > MAX_NAME_LENGTH or _NAME.fullmatch(name) is None:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise ValidationError(
            f"{where}: {shown!r} is not an environment variable name "
            "(letters, digits and _, not starting with a digit)",
            field="name",
        )
    return name


__all__ = ["MAX_NAME_LENGTH", "check_env_name", "env_name"]
