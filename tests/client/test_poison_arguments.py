"""The SDK refuses, before sending anything, text the server refuses for good (a
NUL character) or that cannot even be encoded (a lone surrogate): a ValueError
naming the field, never the value. A usage report holding such text would make
the server refuse its whole batch of reports."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.client import UsageReport
from keystead.client._verify import VerifyRequest
from poison import POISON_PARAMS, Poison


@pytest.mark.parametrize("poison", POISON_PARAMS)
@pytest.mark.parametrize("field", ["ip", "referrer", "user_agent", "method", "path", "permissions"])
def test_verify_arguments(poison: Poison, field: str) -> None:
    fields: dict[str, Any] = {field: poison.text}
    if poison.storable:  # the server judges lengths; the client sends it
        assert getattr(VerifyRequest("k", **fields), field) == poison.text
        return
    with pytest.raises(ValueError, match=f"^{field} cannot be sent") as refused:
        VerifyRequest("k", **fields)
    assert poison.text not in str(refused.value)


@pytest.mark.parametrize("poison", POISON_PARAMS)
@pytest.mark.parametrize("field", ["ip", "user_agent", "method", "path", "tags"])
def test_usage_reports(poison: Poison, field: str) -> None:
    fields: dict[str, Any] = {field: (poison.text,) if field == "tags" else poison.text}
    if poison.storable:
        UsageReport("key_1", "VALID", 1.0, **fields)
        return
    with pytest.raises(ValueError, match=f"^{field} cannot be sent") as refused:
        UsageReport("key_1", "VALID", 1.0, **fields)
    assert poison.text not in str(refused.value)
