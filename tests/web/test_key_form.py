"""The new-key and edit forms' fields -> the spec the service takes."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData, UploadFile

from keystead.errors import ValidationError
from keystead.web.pages import key_form


def form(**fields: str | list[str]) -> FormData:
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in fields.items():
        items.extend((name, v) for v in (value if isinstance(value, list) else [value]))
    return FormData(items)


def test_only_filled_fields_reach_the_spec() -> None:
    assert key_form.create_spec(form(api_id="api_1", name=" ", permissions="")) == {
        "api_id": "api_1"
    }


def test_lists_limits_and_restrictions() -> None:
    spec = key_form.create_spec(
        form(
            api_id="api_1",
            permissions="a.read,\n b.write\n\n",
            r_ips_deny="192.0.2.0/24",
            r_methods="GET\nPOST",
            rl_name=["minute", "", "day"],
            rl_limit=["60", "", "1000"],
            rl_duration_s=["60", "", "86400"],
            credits_remaining="5",
            credits_refill_amount="5",
            credits_refill_interval_s="3600",
            concurrency_limit="2",
            expires_at="2031-05-01T10:00",
            start_disabled="on",
        )
    )
    assert spec["enabled"] is False
    assert spec["permissions"] == ["a.read", "b.write"]
    assert spec["restrictions"] == {"ips": {"deny": ["192.0.2.0/24"]}, "methods": ["GET", "POST"]}
    assert [r["name"] for r in spec["ratelimits"]] == ["minute", "day"]
    assert spec["credits"] == {"remaining": 5, "refill": {"amount": 5, "interval_s": 3600.0}}
    assert spec["concurrency"] == {"limit": 2}
    assert spec["expires_at"] == "2031-05-01T10:00+00:00"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"meta": "{"}, "meta"),
        ({"meta": "[]"}, "meta"),
        ({"quota_limit": "many"}, "quota_limit"),
        ({"quota_limit": "0"}, "quota_limit"),
        ({"rl_name": "m", "rl_limit": "x", "rl_duration_s": "60"}, "ratelimits[0]"),
        ({"credits_remaining": "1", "credits_refill_amount": "1",
          "credits_refill_interval_s": "nan"}, "credits_refill_interval_s"),
    ],
)  # fmt: skip
def test_malformed_fields_name_themselves(fields: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        key_form.create_spec(form(api_id="api_1", **fields))
    assert caught.value.field == field


def test_an_emptied_edit_field_clears_and_a_schedule_is_kept() -> None:
    changes = key_form.update_changes(
        form(name="", permissions="x.read", r_paths="/v1/*"),
        {"schedule": {"weekdays": ["mon"]}, "paths": ["/old"]},
    )
    assert changes["name"] is None
    assert changes["owner_id"] is None
    assert changes["permissions"] == ["x.read"]
    assert changes["restrictions"] == {"schedule": {"weekdays": ["mon"]}, "paths": ["/v1/*"]}
