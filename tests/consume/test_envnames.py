from __future__ import annotations

import pytest

from keystead.consume.envnames import check_env_name, env_name
from keystead.errors import ValidationError


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("stripe_key", "STRIPE_KEY"),
        ("db.password", "DB_PASSWORD"),
        ("api-key", "API_KEY"),
        ("2fa", "_2FA"),
        ("café", "CAF_"),
        ("A@b=c", "A_B_C"),
    ],
)
def test_field_names_become_env_safe(field: str, name: str) -> None:
    assert env_name(field) == name
    assert check_env_name(name, where="test") == name


@pytest.mark.parametrize("name", ["", "1A", "A-B", "A B", "É", "A=B"])
def test_names_a_shell_refuses_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        check_env_name(name, where="--map")
