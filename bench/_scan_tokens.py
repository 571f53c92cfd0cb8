"""Seeded generators of credentials and decoys for the scanner benchmark.

Every provider format here is written from the provider's public description
of its tokens (prefix, length, alphabet, checksum where one is documented), not
from Keystead's rules file, so the recall the bench measures is not a rules
file grading itself. Everything is drawn from one ``random.Random``, so a seed
gives the same corpus on every run; none of these values was ever issued.

A :class:`Seed` is the lines to insert and what they hold. ``group`` says which
recall it counts towards: ``keystead`` (Keystead keys), ``keystead-base64``
(a Keystead key inside a base64 segment), ``provider``, or for decoys
``keystead-decoy``, ``provider-decoy`` and ``placeholder``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from keystead.core import keyformat

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
BASE64 = string.ascii_letters + string.digits + "+/"
URLSAFE = string.ascii_letters + string.digits + "-_"
BASE32 = string.ascii_uppercase + "234567"

KEYSTEAD_PREFIXES = ("ks", "ks_live", "acme_prod", "billing_test", "pk")


@dataclass(frozen=True, slots=True)
class Seed:
    kind: str
    group: str
    lines: tuple[str, ...]

    @property
    def is_decoy(self) -> bool:
        return self.group.endswith("-decoy") or self.group == "placeholder"


def _draw(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b62(value: int, width: int) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 62)
        out = BASE62[digit] + out
    return out.rjust(width, "0")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- Keystead keys -------------------------------------------------------------


def keystead_key(rng: random.Random) -> str:
    """A well-formed key (docs/security.md): seeded body, the real checksum."""
    prefix = rng.choice(KEYSTEAD_PREFIXES)
    head = f"{prefix}_{_draw(rng, keyformat.ALPHABET, rng.choice((32, 32, 40, 27)))}"
    key = head + keyformat.checksum(head)
    assert keyformat.parse(key) is not None
    return key


def broken_keystead_key(rng: random.Random) -> str:
    """Key-shaped, with one checksum character changed: never a valid key."""
    key = keystead_key(rng)
    last = key[-1]
    wrong = rng.choice([c for c in keyformat.ALPHABET if c != last])
    key = key[:-1] + wrong
    assert keyformat.parse(key) is None
    return key


# -- GitHub and npm: 30 random base62 + CRC-32 of them in 6 base62 ---------------


def github_token(rng: random.Random, prefix: str = "ghp") -> str:
    """GitHub's 2021 format: ``<prefix>_`` + 30 base62 + base62 CRC-32 of the 30."""
    body = _draw(rng, BASE62, 30)
    return f"{prefix}_{body}{_b62(zlib.crc32(body.encode()), 6)}"


def broken_github_token(rng: random.Random) -> str:
    token = github_token(rng, rng.choice(("ghp", "gho", "ghs")))
    return token[:-1] + rng.choice([c for c in BASE62 if c != token[-1]])


def github_fine_grained(rng: random.Random) -> str:
    """``github_pat_`` + 22 base62 + ``_`` + 59 base62 (no published checksum)."""
    return f"github_pat_{_draw(rng, BASE62, 22)}_{_draw(rng, BASE62, 59)}"


def npm_token(rng: random.Random) -> str:
    """npm's format (2021): ``npm_`` + 30 base62 + base62 CRC-32, like GitHub's."""
    return github_token(rng, "npm")


# -- PEM private keys, from seeded numbers --------------------------------------

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


def _is_probable_prime(n: int, rng: random.Random) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _is_probable_prime(candidate, rng):
            return candidate


def _rsa_key(rng: random.Random, bits: int = 2048) -> rsa.RSAPrivateKey:
    e = 65537
    while True:
        p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            break
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


_RSA_DISTINCT = 4
"""RSA keys are drawn from this many, each made once from its index: primes in
pure Python cost about a second a key on a busy core."""
_RSA_PEMS: dict[int, str] = {}


def _rsa_pem(index: int) -> str:
    if index not in _RSA_PEMS:
        key = _rsa_key(random.Random(f"rsa-{index}"))
        none = serialization.NoEncryption()
        pem = serialization.Encoding.PEM
        text = key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none)
        _RSA_PEMS[index] = text.decode()
    return _RSA_PEMS[index]


def pem_private_key(rng: random.Random) -> str:
    """RSA (PKCS#1), EC P-256 (SEC 1) or Ed25519 (PKCS#8), unencrypted PEM."""
    choice = rng.randrange(3)
    none = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    if choice == 0:
        return _rsa_pem(rng.randrange(_RSA_DISTINCT))
    if choice == 1:
        scalar = rng.randrange(1, 2**255)
        ec_key = ec.derive_private_key(scalar, ec.SECP256R1())
        raw = ec_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none)
        return raw.decode()
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    return ed_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, none).decode()


# -- JWT and other structured tokens ---------------------------------------------


def jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {
        "sub": str(rng.randrange(10**6, 10**7)),
        "name": rng.choice(("alice", "bob", "service-account")),
        "iat": 1_700_000_000 + rng.randrange(10**7),
        "scope": rng.choice(("read", "read write", "admin")),
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(rng.randbytes(32), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64url(signature.digest())}"


def pypi_token(rng: random.Random) -> str:
    """``pypi-`` + base64url of a v2 macaroon whose location is pypi.org."""
    identifier = json.dumps({"version": 1, "permissions": "user"}).encode()
    ident = rng.randbytes(16).hex().encode()
    blob = (
        b"\x02\x01\x08pypi.org\x02"
        + bytes([len(ident)])
        + ident
        + b"\x00\x02"
        + bytes([len(identifier)])
        + identifier
        + b"\x00\x00\x06\x20"
        + rng.randbytes(32)
    )
    return "pypi-" + _b64url(blob)


def azure_storage(rng: random.Random) -> str:
    account = "st" + _draw(rng, string.ascii_lowercase + string.digits, 12)
    key = base64.b64encode(rng.randbytes(64)).decode()
    return (
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )


def openai_key(rng: random.Random) -> str:
    if rng.random() < 0.5:  # legacy user keys
        return f"sk-{_draw(rng, BASE62, 20)}T3BlbkFJ{_draw(rng, BASE62, 20)}"
    return f"sk-proj-{_draw(rng, URLSAFE, 74)}T3BlbkFJ{_draw(rng, URLSAFE, 74)}"


def slack_webhook(rng: random.Random) -> str:
    upper = string.ascii_uppercase + string.digits
    return (
        f"https://hooks.slack.com/services/T{_draw(rng, upper, 10)}/"
        f"B{_draw(rng, upper, 10)}/{_draw(rng, string.ascii_letters + string.digits, 24)}"
    )


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(1, 10)) + _draw(rng, string.digits, n - 1)


# -- what goes in the corpus -------------------------------------------------------

Maker = Callable[[random.Random], Seed]


def _assign(name: str, value: str) -> tuple[str, ...]:
    return (f'{name} = "{value}"',)


def _provider(kind: str, name: str, make: Callable[[random.Random], str]) -> Maker:
    def maker(rng: random.Random) -> Seed:
        return Seed(kind, "provider", _assign(name, make(rng)))

    return maker


def _aws(rng: random.Random) -> Seed:
    key_id = "AKIA" + _draw(rng, BASE32, 16)
    secret = _draw(rng, BASE64, 40)
    return Seed(
        "aws",
        "provider",
        ("[default]", f"aws_access_key_id = {key_id}", f"aws_secret_access_key = {secret}"),
    )


def _pem(rng: random.Random) -> Seed:
    return Seed("private-key", "provider", tuple(pem_private_key(rng).splitlines()))


def _gcp_service_account(rng: random.Random) -> Seed:
    key = ec.derive_private_key(rng.randrange(1, 2**255), ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    project = "proj-" + _draw(rng, string.ascii_lowercase + string.digits, 8)
    doc = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": rng.randbytes(20).hex(),
        "private_key": pem,
        "client_email": f"bench@{project}.iam.gserviceaccount.com",
        "client_id": _digits(rng, 21),
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return Seed("gcp-service-account", "provider", tuple(json.dumps(doc, indent=2).splitlines()))


def _keystead(rng: random.Random) -> Seed:
    name = rng.choice(("KEYSTEAD_API_KEY", "api_key", "key", "X_API_KEY", "token"))
    return Seed("keystead", "keystead", _assign(name, keystead_key(rng)))


def _keystead_bare(rng: random.Random) -> Seed:
    """In prose or a log line, no assignment to help a keyword rule."""
    return Seed("keystead", "keystead", (f"# rotated {keystead_key(rng)} on Monday",))


def _keystead_b64(rng: random.Random) -> Seed:
    blob = base64.b64encode(f"Authorization: Bearer {keystead_key(rng)}".encode()).decode()
    return Seed("keystead", "keystead-base64", _assign("HEADER_B64", blob))


PROVIDERS: tuple[Maker, ...] = (
    _provider("github-classic", "GITHUB_TOKEN", lambda r: github_token(r, "ghp")),
    _provider("github-oauth", "GH_OAUTH", lambda r: github_token(r, "gho")),
    _provider("github-app", "GH_APP_TOKEN", lambda r: github_token(r, "ghs")),
    _provider("github-user-to-server", "gh_user", lambda r: github_token(r, "ghu")),
    _provider("github-refresh", "gh_refresh", lambda r: github_token(r, "ghr")),
    _provider("github-fine-grained", "GITHUB_PAT", github_fine_grained),
    _provider("npm", "NPM_TOKEN", npm_token),
    _aws,
    _provider("stripe", "STRIPE_KEY", lambda r: "sk_live_" + _draw(r, BASE62, r.choice((24, 99)))),
    _provider("stripe-restricted", "stripe_rk", lambda r: "rk_live_" + _draw(r, BASE62, 24)),
    _provider(
        "slack-bot",
        "SLACK_BOT_TOKEN",
        lambda r: f"xoxb-{_digits(r, 12)}-{_digits(r, 13)}-{_draw(r, BASE62, 24)}",
    ),
    _provider(
        "slack-user",
        "slack_token",
        lambda r: (
            f"xoxp-{_digits(r, 12)}-{_digits(r, 12)}-{_digits(r, 13)}-{r.randbytes(16).hex()}"
        ),
    ),
    _provider("slack-webhook", "SLACK_WEBHOOK_URL", slack_webhook),
    _provider("google-api", "GOOGLE_API_KEY", lambda r: "AIza" + _draw(r, URLSAFE, 35)),
    _gcp_service_account,
    _provider("openai", "OPENAI_API_KEY", openai_key),
    _provider(
        "anthropic", "ANTHROPIC_API_KEY", lambda r: f"sk-ant-api03-{_draw(r, URLSAFE, 93)}AA"
    ),
    _provider(
        "sendgrid",
        "SENDGRID_API_KEY",
        lambda r: f"SG.{_draw(r, URLSAFE, 22)}.{_draw(r, URLSAFE, 43)}",
    ),
    _provider("twilio", "TWILIO_API_KEY", lambda r: "SK" + r.randbytes(16).hex()),
    _provider("gitlab", "GITLAB_TOKEN", lambda r: "glpat-" + _draw(r, URLSAFE, 20)),
    _pem,
    _provider("jwt", "id_token", jwt),
    _provider("azure-storage", "AZURE_STORAGE_CONNECTION_STRING", azure_storage),
    _provider("docker-hub", "DOCKERHUB_TOKEN", lambda r: "dckr_pat_" + _draw(r, URLSAFE, 27)),
    _provider("pypi", "PYPI_TOKEN", pypi_token),
    _provider("huggingface", "HF_TOKEN", lambda r: "hf_" + _draw(r, string.ascii_letters, 34)),
    _provider("mailgun", "MAILGUN_API_KEY", lambda r: "key-" + r.randbytes(16).hex()),
    _provider("digitalocean", "DIGITALOCEAN_TOKEN", lambda r: "dop_v1_" + r.randbytes(32).hex()),
    _provider("shopify", "SHOPIFY_ACCESS_TOKEN", lambda r: "shpat_" + r.randbytes(16).hex()),
    _provider("databricks", "DATABRICKS_TOKEN", lambda r: "dapi" + r.randbytes(16).hex()),
    _provider(
        "postman",
        "POSTMAN_API_KEY",
        lambda r: f"PMAK-{r.randbytes(12).hex()}-{_draw(r, HEX, 34)}",
    ),
    _provider("linear", "LINEAR_API_KEY", lambda r: "lin_api_" + _draw(r, BASE62, 40)),
    _provider(
        "telegram-bot",
        "TELEGRAM_BOT_TOKEN",
        lambda r: f"{_digits(r, 10)}:AA{_draw(r, URLSAFE, 33)}",
    ),
    _provider(
        "new-relic",
        "NEW_RELIC_API_KEY",
        lambda r: "NRAK-" + _draw(r, BASE32[:26] + "0123456789", 27),
    ),
)

KEYSTEADS: tuple[Maker, ...] = (_keystead, _keystead, _keystead_bare, _keystead_b64)


def _decoy(kind: str, group: str, line: Callable[[random.Random], str]) -> Maker:
    def maker(rng: random.Random) -> Seed:
        return Seed(kind, group, (line(rng),))

    return maker


DECOYS: tuple[Maker, ...] = (
    _decoy(
        "keystead-bad-checksum", "keystead-decoy", lambda r: f'api_key = "{broken_keystead_key(r)}"'
    ),
    _decoy("keystead-bad-checksum", "keystead-decoy", lambda r: f"# {broken_keystead_key(r)}"),
    _decoy(
        "github-bad-crc", "provider-decoy", lambda r: f'GITHUB_TOKEN = "{broken_github_token(r)}"'
    ),
    _decoy(
        "stripe-placeholder",
        "placeholder",
        lambda r: 'STRIPE_KEY = "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx"',
    ),
    _decoy("password-changeme", "placeholder", lambda r: 'password = "changeme"'),
    _decoy("api-key-placeholder", "placeholder", lambda r: 'api_key = "<your-api-key>"'),
    _decoy(
        "aws-placeholder",
        "placeholder",
        lambda r: 'aws_secret_access_key = "YOUR_SECRET_ACCESS_KEY"',
    ),
    _decoy("env-reference", "placeholder", lambda r: 'token = "${GITHUB_TOKEN}"'),
    _decoy("openai-placeholder", "placeholder", lambda r: 'OPENAI_API_KEY = "sk-..."'),
)


def draw_seed(rng: random.Random, decoy_share: float = 0.2, keystead_share: float = 0.3) -> Seed:
    """One seed: a decoy, a Keystead key or a provider token, round the kinds."""
    roll = rng.random()
    if roll < decoy_share:
        return rng.choice(DECOYS)(rng)
    if roll < decoy_share + keystead_share:
        return rng.choice(KEYSTEADS)(rng)
    return rng.choice(PROVIDERS)(rng)


__all__ = [
    "DECOYS",
    "KEYSTEADS",
    "PROVIDERS",
    "Seed",
    "broken_github_token",
    "broken_keystead_key",
    "draw_seed",
    "github_token",
    "keystead_key",
    "pem_private_key",
]
