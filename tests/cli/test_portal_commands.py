"""``keystead portal``: one-time links and branding, locally."""

from __future__ import annotations

from ._support import Cli


def test_link_and_branding_locally(ready_local: Cli) -> None:
    made = ready_local.json(
        "portal", "link", "cust_1", "--permission", "keys.read", "--permission", "usage.read",
        "--return-url", "https://example.com/account",
    )  # fmt: skip
    assert made["owner_id"] == "cust_1"
    assert "/portal/enter?token=ksportal_" in made["url"]
    again = ready_local.ok("portal", "link", "cust_1").stdout
    assert "ksportal_" in again and "works once" in again
    ready_local.fails(1, "portal", "link", "cust_1", "--permission", "root_keys.create")

    assert ready_local.json("portal", "branding")["name"] == "Keystead"
    changed = ready_local.json(
        "portal", "branding", "--name", "Acme", "--accent", "#AABBCC", "--max-keys-per-owner", "3"
    )
    assert (changed["name"], changed["accent"], changed["max_keys_per_owner"]) == (
        "Acme",
        "#aabbcc",
        3,
    )
    assert "Acme" in ready_local.ok("portal", "branding").stdout
    failed = ready_local.fails(1, "portal", "branding", "--logo-url", "http://x.test/l.png")
    assert "logo_url" in failed.output
