"""The key journey in Chromium, from the page: create an API and a key, see the key
once, copy it, verify it with ``curl`` as a customer's backend would, watch the key's
usage chart draw those verifications, revoke the key (the confirmation names it) and
see verification refused."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from playwright.sync_api import Page, expect

from serving import Server

from .kit import Watch, assert_accessible, curl_verify, sign_in, visit

VERIFICATIONS = 3


def create_api(page: Page, watch: Watch, name: str, prefix: str) -> None:
    visit(page, "/ui/apis", watch)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label(re.compile("^Key prefix")).fill(prefix)
    page.get_by_role("button", name="Create API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"API {name}")
    expect(page.get_by_role("status").filter(has_text="The API was created.")).to_be_visible()
    assert_accessible(page)


def create_key(page: Page, watch: Watch, api: str, name: str, owner: str) -> str:
    """Fill the new-key form; return the plaintext the page reveals (read by copying).
    ``api`` is the API's option label, "name (prefix)"."""
    visit(page, "/ui/keys/new", watch)
    page.get_by_label("API", exact=True).select_option(label=api)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Owner id").fill(owner)
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Key created")
    watch.assert_quiet()
    shown = page.get_by_label("New key")
    expect(shown).to_have_attribute("readonly", "")
    assert_accessible(page)
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#live")).to_have_text("Copied")
    copied: str = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == shown.input_value()
    return copied


def usage_counts(page: Page, key_id: str) -> dict[str, int]:
    """The totals per outcome in the chart's data, fetched with the page's session."""
    answer = page.request.get(f"/ui/data/keys/{key_id}/usage?granularity=minute")
    assert answer.ok, answer.status
    data: dict[str, Any] = answer.json()
    assert len(data["x"]) == len(data["series"][0]["values"])
    return {s["label"]: int(sum(v or 0 for v in s["values"])) for s in data["series"]}


def wait_for_usage(page: Page, key_id: str, code: str, count: int) -> dict[str, int]:
    deadline = time.monotonic() + 15
    counts = usage_counts(page, key_id)
    while counts.get(code, 0) < count and time.monotonic() < deadline:
        time.sleep(0.3)
        counts = usage_counts(page, key_id)
    return counts


def test_create_copy_verify_chart_and_revoke_a_key(
    page: Page, server: Server, watch: Watch
) -> None:
    suffix = secrets.token_hex(3)
    api_name, key_name = f"journey-{suffix}", f"billing-{suffix}"
    sign_in(page, server.root_key)
    create_api(page, watch, api_name, "jrn")
    plaintext = create_key(page, watch, f"{api_name} (jrn)", key_name, "acme")
    server.revealed.append(plaintext)
    assert plaintext.startswith("jrn_")

    verdict = curl_verify(server, plaintext)
    assert verdict["valid"] is True and verdict["code"] == "VALID"
    assert verdict["name"] == key_name and verdict["owner_id"] == "acme"
    key_id = verdict["key_id"]
    for _ in range(VERIFICATIONS - 1):
        assert curl_verify(server, plaintext)["valid"] is True

    page.get_by_role("link", name="Go to the key").click()
    expect(page).to_have_url(re.compile(f"/ui/keys/{key_id}$"))
    assert plaintext not in page.content()  # shown once: never again
    counts = wait_for_usage(page, key_id, "VALID", VERIFICATIONS)
    assert counts == {"VALID": VERIFICATIONS}
    visit(page, f"/ui/keys/{key_id}", watch)
    usage = page.locator(f'figure[data-chart="/ui/data/keys/{key_id}/usage"]')
    usage.scroll_into_view_if_needed()  # charts are drawn as they come into view
    expect(usage).to_have_attribute("data-chart-ready", "1")
    expect(usage.locator("canvas")).to_have_count(1)
    assert usage.locator("canvas").bounding_box() is not None
    expect(usage.locator(".u-legend")).to_contain_text("VALID")

    page.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Revoke key '{key_name}' ({key_id})?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").filter(has_text="The key was revoked.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("revoked")
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    assert_accessible(page)

    refused = curl_verify(server, plaintext)
    assert refused["valid"] is False and refused["code"] == "REVOKED"
    counts = wait_for_usage(page, key_id, "REVOKED", 1)
    assert counts == {"VALID": VERIFICATIONS, "REVOKED": 1}
    watch.assert_quiet()
    assert watch.dialogs == []


def test_cancelling_the_confirmation_keeps_the_key(
    page: Page, server: Server, watch: Watch
) -> None:
    suffix = secrets.token_hex(3)
    sign_in(page, server.root_key)
    create_api(page, watch, f"cancel-{suffix}", "cnl")
    plaintext = create_key(page, watch, f"cancel-{suffix} (cnl)", f"kept-{suffix}", "globex")
    server.revealed.append(plaintext)
    page.get_by_role("link", name="Go to the key").click()
    page.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe default
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("active")
    assert curl_verify(server, plaintext)["valid"] is True
