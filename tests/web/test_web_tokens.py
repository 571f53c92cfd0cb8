"""The tokens pages: signing keys, "Rotate signing key" and the token policy."""

from __future__ import annotations

from keystead.service import Keystead

from .htmlcheck import assert_no_inline_script, assert_unique_ids
from .webkit import open_browser


async def test_rotate_signing_key(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        api = await vault.apis.create(b.operator, name="tokens<b>")
        first = await vault.tokens.rotate_signing_key(b.operator, api.id)
        await b.sign_in()
        index = await b.client.get("/ui/tokens")
        assert index.status_code == 200 and f'href="/ui/tokens/{api.id}"' in index.text
        assert "tokens&lt;b&gt;" in index.text and "tokens<b>" not in index.text
        url = f"/ui/tokens/{api.id}"
        page = await b.client.get(url)
        assert page.status_code == 200
        assert "Signing keys" in page.text and first.kid in page.text
        assert "Rotate signing key" in page.text and "data-confirm=" in page.text
        assert_unique_ids(page.text)
        assert_no_inline_script(page.text)

        forged = await b.client.post(f"{url}/rotate", data={})
        assert forged.status_code == 403
        assert [k.kid for k in await vault.tokens.signing_keys(b.operator, api.id)] == [first.kid]

        token = await b.csrf(url)
        rotated = await b.client.post(f"{url}/rotate", data={"csrf": token, "algorithm": "ES256"})
        assert rotated.status_code == 303 and rotated.headers["location"] == url
        keys = await vault.tokens.signing_keys(b.operator, api.id)
        signing = [k for k in keys if k.signing]
        assert len(signing) == 1 and signing[0].kid != first.kid
        assert signing[0].algorithm == "ES256"
        old = next(k for k in keys if k.kid == first.kid)
        assert not old.signing and old.retired_at is not None
        after = await b.client.get(url)
        assert signing[0].kid in after.text and first.kid in after.text
        bad = await b.client.post(f"{url}/rotate", data={"csrf": token, "algorithm": "none"})
        assert bad.status_code == 422


async def test_token_policy_edit(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        api = await vault.apis.create(b.operator, name="policy")
        await b.sign_in()
        url = f"/ui/tokens/{api.id}"
        token = await b.csrf(url)
        form = {
            "csrf": token,
            "enabled": "on",
            "algorithm": "EdDSA",
            "default_ttl_s": "600",
            "min_ttl_s": "60",
            "max_ttl_s": "1200",
            "rotate_every_s": "",
            "audiences": "billing\n<script>x</script>\n",
            "allowed_claims": "tenant",
        }
        saved = await b.client.post(f"{url}/policy", data=form)
        assert saved.status_code == 303, saved.text
        policy = await vault.tokens.policy(b.operator, api.id)
        assert policy.default_ttl_s == 600 and policy.max_ttl_s == 1200
        assert policy.audiences == ("billing", "<script>x</script>")
        assert policy.allowed_claims == ("tenant",) and not policy.include_meta
        shown = await b.client.get(url)
        assert "&lt;script&gt;x&lt;/script&gt;" in shown.text and "<script>x" not in shown.text

        wrong = await b.client.post(f"{url}/policy", data={**form, "default_ttl_s": "5000"})
        assert wrong.status_code == 422
        assert "default_ttl_s is a whole number" in wrong.text
        assert (await vault.tokens.policy(b.operator, api.id)).default_ttl_s == 600


async def test_absent_without_the_permission(vault: Keystead) -> None:
    async with open_browser(vault) as b:
        api = await vault.apis.create(b.operator, name="locked")
        narrow = await vault.root_keys.create(b.operator, permissions=["apis.read"])
        await b.sign_in(narrow.plaintext)
        overview = await b.client.get("/ui/")
        assert 'href="/ui/tokens"' not in overview.text
        for path in ("/ui/tokens", f"/ui/tokens/{api.id}"):
            assert (await b.client.get(path)).status_code == 403
        token = await b.csrf()
        refused = await b.client.post(f"/ui/tokens/{api.id}/rotate", data={"csrf": token})
        assert refused.status_code == 403
        assert await vault.tokens.signing_keys(b.operator, api.id) == []
