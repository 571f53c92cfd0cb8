from datetime import UTC, datetime

import pytest

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, VerifyContext
from keystead.errors import ConfigurationError, Forbidden, PermissionQueryError
from keystead.service import Keystead


async def _key(ks: Keystead, admin: Principal, **fields: object) -> str:
    apis = await ks.apis.list(admin)
    api_id = apis[0].id if apis else (await ks.apis.create(admin, name="api")).id
    return (await ks.keys.create(admin, api_id=api_id, **fields)).plaintext


def _at(clock: ManualClock, offset: float) -> str:
    return datetime.fromtimestamp(clock.now() + offset, UTC).isoformat()


async def test_valid_key_reports_its_fields(keystead: Keystead, admin: Principal) -> None:
    key = await _key(keystead, admin, name="n", owner_id="o", meta={"m": 1}, permissions=["a.b"])
    verdict = await keystead.verify(key)
    assert verdict.valid and verdict.code is Code.VALID
    assert verdict.key is not None
    assert (verdict.key.name, verdict.key.owner_id, verdict.key.meta) == ("n", "o", {"m": 1})
    assert verdict.permissions == ("a.b",)


async def test_malformed_and_unknown(keystead: Keystead, admin: Principal) -> None:
    key = await _key(keystead, admin)
    assert (await keystead.verify("")).code is Code.MALFORMED
    assert (await keystead.verify(key[:-1] + ("A" if key[-1] != "A" else "B"))).code is (
        Code.MALFORMED
    )
    assert (await keystead.verify(key + " ")).code is Code.MALFORMED
    assert (await keystead.verify(123)).code is Code.MALFORMED  # type: ignore[arg-type]
    assert (await keystead.verify("ks_" + "A" * keyformat.MAX_LENGTH)).code is Code.MALFORMED
    unknown = keyformat.generate("ks")
    assert (await keystead.verify(unknown)).code is Code.NOT_FOUND
    # the second time the negative cache answers; still NOT_FOUND
    assert (await keystead.verify(unknown)).code is Code.NOT_FOUND


async def test_a_cached_key_skips_the_format_check_a_wrong_one_never_does(
    keystead: Keystead, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await _key(keystead, admin)
    assert (await keystead.verify(key)).valid  # now cached
    checked: list[str] = []
    real = keyformat.is_well_formed

    def counting(text: str) -> bool:
        checked.append(text)
        return real(text)

    monkeypatch.setattr(keyformat, "is_well_formed", counting)
    assert (await keystead.verify(key)).valid
    assert keystead.verify_now(key) is not None
    assert checked == []  # its hash matched an issued key's: it is well-formed
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert (await keystead.verify(wrong)).code is Code.MALFORMED
    assert keystead.verify_now(wrong) is None  # decided on the loop, counted per IP
    assert checked == [wrong]


async def test_time_window(keystead: Keystead, admin: Principal, clock: ManualClock) -> None:
    key = await _key(keystead, admin, not_before=_at(clock, 60), expires_at=_at(clock, 120))
    assert (await keystead.verify(key)).code is Code.NOT_YET_VALID
    clock.advance(60)
    assert (await keystead.verify(key)).valid
    clock.advance(59.9)
    assert (await keystead.verify(key)).valid
    clock.advance(0.1)
    assert (await keystead.verify(key)).code is Code.EXPIRED


async def test_order_of_checks(keystead: Keystead, admin: Principal, clock: ManualClock) -> None:
    # a key that fails every check answers with the first in the documented order
    key = await _key(
        keystead,
        admin,
        expires_at=_at(clock, -1),
        not_before=_at(clock, -10),
        restrictions={"ips": {"allow": ["10.0.0.0/8"]}},
        permissions=["a"],
    )
    ctx = VerifyContext(ip="192.0.2.1", permissions="b")
    listing = await keystead.keys.list(admin)
    key_id = listing.items[0].id
    await keystead.keys.disable(admin, key_id)
    await keystead.keys.revoke(admin, key_id)
    assert (await keystead.verify(key, ctx)).code is Code.REVOKED
    key2 = await _key(
        keystead,
        admin,
        expires_at=_at(clock, -1),
        enabled=False,
        restrictions={"ips": {"allow": ["10.0.0.0/8"]}},
    )
    assert (await keystead.verify(key2, ctx)).code is Code.DISABLED
    key3 = await _key(
        keystead, admin, expires_at=_at(clock, -1), restrictions={"ips": {"allow": ["10.0.0.0/8"]}}
    )
    assert (await keystead.verify(key3, ctx)).code is Code.EXPIRED
    key4 = await _key(keystead, admin, restrictions={"ips": {"allow": ["10.0.0.0/8"]}})
    forbidden = await keystead.verify(key4, ctx)
    assert (forbidden.code, forbidden.reason) == (Code.FORBIDDEN, "ip")
    key5 = await _key(keystead, admin, permissions=["a"])
    denied = await keystead.verify(key5, ctx)
    assert (denied.code, denied.reason) == (Code.INSUFFICIENT_PERMISSIONS, "b")


async def test_permission_queries(keystead: Keystead, admin: Principal) -> None:
    key = await _key(keystead, admin, permissions=["documents.*", "billing.read"])
    for query, expected in [
        ("documents.read", True),
        ("documents.read AND billing.read", True),
        ("billing.write OR documents.delete", True),
        ("billing.write", False),
        ("NOT billing.read", False),
        ("(documents.read OR admin) AND NOT admin.users", True),
    ]:
        verdict = await keystead.verify(key, VerifyContext(permissions=query))
        assert verdict.valid is expected, query
    with pytest.raises(PermissionQueryError) as info:
        await keystead.verify(key, VerifyContext(permissions="documents.read AND"))
    assert info.value.position == 18


async def test_restrictions_are_enforced(keystead: Keystead, admin: Principal) -> None:
    key = await _key(
        keystead,
        admin,
        restrictions={
            "ips": {"allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.9.0.0/16"]},
            "referrers": ["https://*.example.com/*"],
            "methods": ["GET"],
            "paths": ["/v1/documents/*"],
        },
    )
    good = VerifyContext(
        ip="10.1.1.1", referrer="https://app.example.com/x", method="GET", path="/v1/documents/7"
    )
    assert (await keystead.verify(key, good)).valid
    cases = {
        "ip": VerifyContext(ip="10.9.1.1", referrer=good.referrer, method="GET", path=good.path),
        "referrer": VerifyContext(
            ip="2001:db8::1", referrer="https://example.com.evil.io/", method="GET", path=good.path
        ),
        "method": VerifyContext(
            ip="10.1.1.1", referrer=good.referrer, method="POST", path=good.path
        ),
        "path": VerifyContext(
            ip="10.1.1.1", referrer=good.referrer, method="GET", path="/v1/admin"
        ),
    }
    for reason, ctx in cases.items():
        verdict = await keystead.verify(key, ctx)
        assert (verdict.code, verdict.reason) == (Code.FORBIDDEN, reason)


async def test_schedule_uses_the_injected_clock(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key = await _key(
        keystead,
        admin,
        restrictions={
            "schedule": {
                "timezone": "Europe/Paris",
                "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "hours": [{"start": "09:00", "end": "17:00"}],
            }
        },
    )
    # Monday 2026-01-05 10:00 in Paris is 09:00 UTC
    clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())
    assert (await keystead.verify(key)).valid
    clock.set(datetime(2026, 1, 5, 16, 30, tzinfo=UTC).timestamp())  # 17:30 Paris
    assert (await keystead.verify(key)).reason == "schedule"
    clock.set(datetime(2026, 1, 4, 9, 0, tzinfo=UTC).timestamp())  # Sunday
    assert (await keystead.verify(key)).reason == "schedule"


async def test_verify_with_a_principal_needs_keys_verify(keystead: Keystead) -> None:
    boot = await keystead.workspaces.init()
    root = await keystead.root_keys.authenticate(boot.root_key.plaintext)
    api = await keystead.apis.create(root, name="a")
    key = (await keystead.keys.create(root, api_id=api.id)).plaintext
    reader = await keystead.root_keys.create(root, permissions=["keys.read"])
    principal = await keystead.root_keys.authenticate(reader.plaintext)
    with pytest.raises(Forbidden):
        await keystead.verify(key, principal=principal)
    assert (await keystead.verify(key, principal=root)).valid


async def test_a_different_secret_is_refused(settings: Settings, keystead: Keystead) -> None:
    other = settings.model_copy(update={"secret": None, "secret_file": settings.secret_file})
    with pytest.raises(ConfigurationError, match="does not match"):
        await Keystead.open(settings=other, create_secret=True)


async def test_country_rule_resolves_offline(keystead: Keystead, admin: Principal) -> None:
    key = await _key(keystead, admin, restrictions={"countries": {"allow": ["US"]}})
    assert (await keystead.verify(key, VerifyContext(ip="8.8.8.8"))).valid
    denied = await keystead.verify(key, VerifyContext(ip="10.0.0.1"))
    assert (denied.code, denied.reason) == (Code.FORBIDDEN, "country")
