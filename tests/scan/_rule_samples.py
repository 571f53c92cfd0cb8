"""A true sample and decoys for every shipped rule, built at run time.

No credential appears literally in this file: each token is put together from
its published shape and seeded random characters, with a valid checksum where
the format has one, so that the repository itself never trips a scanner. A
decoy is a placeholder, a published example or a broken checksum: the rule
must stay silent on it. ``SAMPLES[rule_id]`` holds the line a user would
write, the secret the rule must report from it, and the decoys.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keystead.core import keyformat

_rng = random.Random(16)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"
B64 = ALNUM + "+/"


def chars(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def github_style(prefix: str) -> str:
    """GitHub's and npm's scheme: 30 random base62, then their CRC-32 in
    base62 (six characters)."""
    body = chars(ALNUM, 30)
    return prefix + body + keyformat.checksum(body)


def break_last(token: str) -> str:
    """The same token with its last character changed: a checksum no longer
    matches."""
    last = token[-1]
    return token[:-1] + ("B" if last != "B" else "C")


def jwt_token(claims: dict[str, object], header: dict[str, object] | None = None) -> str:
    head = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    return f"{b64url_json(head)}.{b64url_json(claims)}.{b64url(_rng.randbytes(32))}"


def pem_private_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def garbage_pem(label: str = "PRIVATE KEY") -> str:
    body = base64.encodebytes(_rng.randbytes(138)).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


def pypi_token(location: str = "pypi.org") -> str:
    from pymacaroons import Macaroon  # PyPI mints its tokens with this library

    macaroon = Macaroon(
        location=location,
        identifier=json.dumps({"version": 1, "id": str(uuid.UUID(int=_rng.getrandbits(128)))}),
        key=_rng.randbytes(32),
        version=2,
    )
    macaroon.add_first_party_caveat(json.dumps({"version": 1, "permissions": "user"}))
    return "pypi-" + str(macaroon.serialize())


def age_identity() -> str:
    import bech32  # the BIP 173 reference implementation

    data = bech32.convertbits(list(_rng.randbytes(32)), 8, 5)
    assert data is not None
    return str(bech32.bech32_encode("age-secret-key-", data)).upper()


def discord_token() -> str:
    bot_id = str(_rng.randrange(10**17, 10**18))
    first = base64.b64encode(bot_id.encode()).decode().rstrip("=")
    return f"{first}.{chars(B64URL, 6)}.{chars(B64URL, 38)}"


@dataclass(frozen=True)
class Sample:
    text: str
    """A line (or file) as a user would write it, holding the secret."""
    secret: str
    """What the rule must report from ``text``."""
    decoys: tuple[str, ...]
    """Texts the rule must not report anything from."""


def _assigned(name: str, secret: str, *decoy_values: str) -> Sample:
    return Sample(
        f'{name} = "{secret}"\n', secret, tuple(f'{name} = "{d}"\n' for d in decoy_values)
    )


def _bare(secret: str, *decoys: str) -> Sample:
    return Sample(f"token: {secret}\n", secret, tuple(f"token: {d}\n" for d in decoys))


def _build() -> dict[str, Sample]:
    s: dict[str, Sample] = {}
    key = keyformat.generate("ks_live")
    s["keystead-key"] = _assigned("KEYSTEAD_KEY", key, break_last(key))
    for rule, prefix in (
        ("github-pat", "ghp_"),
        ("github-oauth-token", "gho_"),
        ("github-user-to-server-token", "ghu_"),
        ("github-server-to-server-token", "ghs_"),
        ("github-refresh-token", "ghr_"),
        ("npm-token", "npm_"),
    ):
        token = github_style(prefix)
        s[rule] = _assigned("TOKEN", token, break_last(token), prefix + "x" * 36)
    s["github-fine-grained-pat"] = _bare(
        "github_" + "pat_" + chars(ALNUM, 22) + "_" + chars(ALNUM, 59),
        "github_" + "pat_" + "x" * 22 + "_" + "x" * 59,
    )
    s["aws-access-key-id"] = _bare(
        "AKIA" + chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "AKIA" + "IOSFODNN7" + "EXAMPLE",
        "AKIA" + "X" * 16,
    )
    aws_secret = chars(B64, 40)
    s["aws-secret-access-key"] = Sample(
        f"aws_secret_access_key = {aws_secret}\n",
        aws_secret,
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY\n",
            "aws_secret_access_key = " + "A" * 40 + "\n",
        ),
    )
    s["stripe-secret-key"] = _bare("sk_" + "live_" + chars(ALNUM, 99), "sk_" + "live_" + "x" * 24)
    s["stripe-restricted-key"] = _bare(
        "rk_" + "live_" + chars(ALNUM, 99), "rk_" + "live_" + "0" * 30
    )
    s["stripe-test-key"] = _bare("sk_" + "test_" + chars(ALNUM, 24), "sk_" + "test_" + "x" * 24)
    s["stripe-webhook-secret"] = _bare("whsec_" + chars(ALNUM, 32), "whsec_" + "a" * 32)
    s["slack-bot-token"] = _bare(
        "xoxb-" + chars("0123456789", 12) + "-" + chars("0123456789", 13) + "-" + chars(ALNUM, 24),
        "xoxb-" + "123-456-abc",
    )
    s["slack-user-token"] = _bare(
        "xoxp-" + "-".join(chars("0123456789", 12) for _ in range(3)) + "-" + chars(HEX, 32),
        "xoxp-" + "XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXXXXXXXXX-" + "x" * 32,
    )
    s["slack-app-token"] = _bare(
        "xapp-1-"
        + chars(string.ascii_uppercase + string.digits, 11)
        + "-"
        + chars("0123456789", 13)
        + "-"
        + chars(HEX, 64),
        "xapp-1-" + "A" * 11 + "-" + "1" * 13 + "-" + "f" * 10,
    )
    s["slack-config-token"] = _bare(
        "xoxe." + "xoxp-1-" + chars(ALNUM, 163), "xoxe." + "xoxp-1-" + "A" * 163
    )
    s["slack-legacy-token"] = _bare(
        "xoxa-2-" + chars(ALNUM, 20) + "-" + chars(ALNUM, 30), "xoxa-" + "a" * 12
    )
    upper = string.ascii_uppercase + string.digits
    hook = "hooks.slack.com/" + "services/T" + chars(upper, 10) + "/B" + chars(upper, 10)
    hook += "/" + chars(ALNUM, 24)
    s["slack-webhook"] = Sample(
        f"SLACK_WEBHOOK=https://{hook}\n",
        hook,
        ("SLACK_WEBHOOK=https://hooks.slack.com/" + "services/T000/B000/XXXX\n",),
    )
    s["google-api-key"] = _bare("AIza" + chars(B64URL, 35), "AIza" + "-" * 35)
    pem = pem_private_key()
    account = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": chars(HEX, 40),
        "private_key": pem,
        "client_email": "robot@demo-project.iam.gserviceaccount.com",
    }
    decoy_account = dict(account, private_key=garbage_pem())
    s["gcp-service-account-key"] = Sample(
        json.dumps(account, indent=2),
        json.dumps(pem.strip())[1:-1],
        (json.dumps(decoy_account, indent=2),),
    )
    s["firebase-fcm-server-key"] = _bare(
        "AAAA" + chars(B64URL, 7) + ":APA91b" + chars(B64URL, 134),
        "AAAA" + chars(B64URL, 7) + ":APA91b" + chars(B64URL, 100),
    )
    s["openai-api-key"] = _bare(
        "sk-proj-" + chars(B64URL, 74) + "T3Blbk" + "FJ" + chars(B64URL, 74),
        "sk-proj-" + "x" * 74 + "T3Blbk" + "FJ" + "x" * 74,
    )
    s["anthropic-api-key"] = _bare(
        "sk-ant-" + "api03-" + chars(B64URL, 93) + "AA", "sk-ant-" + "api03-" + "x" * 93 + "AA"
    )
    s["huggingface-token"] = _bare("hf_" + chars(string.ascii_letters, 34), "hf_" + "a" * 34)
    s["groq-api-key"] = _bare("gsk_" + chars(ALNUM, 52), "gsk_" + "0" * 52)
    s["replicate-api-token"] = _bare("r8_" + chars(ALNUM, 37), "r8_" + "a" * 37)
    sid, auth = "AC" + chars(HEX, 32), chars(HEX, 32)
    s["twilio-credentials"] = Sample(
        f'client = Client("{sid}", "{auth}")\n',
        auth,
        (f'client = Client("{sid}", "{"0" * 32}")\n',),
    )
    s["twilio-auth-token"] = Sample(
        f"TWILIO_AUTH_TOKEN={auth}\n", auth, ("TWILIO_AUTH_TOKEN=" + "0" * 32 + "\n",)
    )
    s["sendgrid-api-key"] = _bare(
        "SG." + chars(B64URL, 22) + "." + chars(B64URL, 43), "SG." + "x" * 22 + "." + "x" * 43
    )
    s["mailgun-api-key"] = _bare("key-" + chars(HEX, 32), "key-" + "0" * 32)
    mg = "-".join(chars(HEX, n) for n in (32, 8, 8))
    s["mailgun-private-key"] = Sample(
        f"MAILGUN_API_KEY={mg}\n", mg, ("MAILGUN_API_KEY=" + "-".join("0" * n for n in (32, 8, 8)),)
    )
    s["mailchimp-api-key"] = _bare(chars(HEX, 32) + "-us21", "0" * 32 + "-us21")
    s["discord-bot-token"] = _bare(
        discord_token(), "M" + chars(B64URL, 23) + "." + discord_token()[25:]
    )
    webhook_token = chars(B64URL, 68)
    s["discord-webhook"] = Sample(
        "https://discord.com/api/webhooks/" + chars("0123456789", 18) + "/" + webhook_token,
        webhook_token,
        ("https://discord.com/api/webhooks/123/abc\n",),
    )
    s["telegram-bot-token"] = _bare(
        chars("0123456789", 9) + ":AA" + chars(B64URL, 33), "123456789:AA" + "a" * 33
    )
    s["pypi-token"] = _bare(
        pypi_token(), "pypi-" + "AgEIcHlwaS5vcmc" + chars(B64URL, 120), pypi_token()[:-8]
    )
    s["docker-hub-token"] = _bare("dckr_" + "pat_" + chars(B64URL, 27), "dckr_" + "pat_" + "x" * 27)
    s["gitlab-pat"] = _bare("glpat-" + chars(B64URL, 20), "glpat-" + "x" * 20)
    s["gitlab-deploy-token"] = _bare("gldt-" + chars(B64URL, 20), "gldt-" + "x" * 20)
    s["gitlab-runner-token"] = _bare("glrt-" + chars(B64URL, 20), "glrt-" + "x" * 20)
    s["gitlab-pipeline-trigger-token"] = _bare("glptt-" + chars(HEX, 40), "glptt-" + "0" * 40)
    s["gitlab-other-token"] = _bare("gloas-" + chars(HEX, 64), "gloas-" + "0" * 64)
    account_key = base64.b64encode(_rng.randbytes(64)).decode()
    emulator = "Eby8vdM02xNOcqFl" + chars(B64, 70) + "=="
    non_canonical = account_key[:85] + ("B" if account_key[85] != "B" else "C") + "=="
    connection = "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey={};EndpointSuffix=core"
    s["azure-storage-key"] = Sample(
        connection.format(account_key) + "\n",
        account_key,
        (connection.format(emulator), connection.format(non_canonical)),
    )
    entra = chars(ALNUM, 3) + "8Q~" + chars(ALNUM + "_~.-", 34)
    s["azure-ad-client-secret"] = _bare(entra, "abc8Q~" + "a" * 34)
    s["private-key"] = Sample(pem, pem.strip(), (garbage_pem(), garbage_pem("RSA PRIVATE KEY")))
    s["age-secret-key"] = _bare(age_identity(), break_last(age_identity()))
    jwt = jwt_token({"sub": "1234567890", "name": "Demo", "iat": 1_700_000_000})
    s["jwt"] = Sample(
        f"Authorization: Bearer {jwt}\n",
        jwt,
        (
            "Authorization: Bearer " + jwt_token({"sub": "x"}, {"typ": "JWT"}) + "\n",
            "Authorization: Bearer " + jwt_token({"sub": "x"}, {"alg": "none"}) + "\n",
            "Authorization: Bearer " + jwt.split(".")[0] + ".eyJ" + chars(B64URL, 30) + ".x" * 9,
        ),
    )
    service = jwt_token({"iss": "supabase", "ref": "demo", "role": "service_role"})
    anon = jwt_token({"iss": "supabase", "ref": "demo", "role": "anon"})
    s["supabase-service-key"] = _assigned("SUPABASE_SERVICE_ROLE_KEY", service, anon)
    s["supabase-secret-key"] = _bare("sb_secret_" + chars(B64URL, 31), "sb_secret_" + "x" * 31)
    s["vault-token"] = _bare("hvs." + chars(B64URL, 90), "hvs." + "a" * 24)
    s["terraform-cloud-token"] = _bare(
        chars(ALNUM, 14) + ".atlas" + "v1." + chars(B64URL, 67),
        "x" * 14 + ".atlas" + "v1." + "x" * 67,
    )
    s["pulumi-access-token"] = _bare("pul-" + chars(HEX, 40), "pul-" + "0" * 40)
    s["doppler-token"] = _bare("dp.st." + "prd." + chars(ALNUM, 40), "dp.st." + "x" * 40)
    claims = {"signInAddress": "my.1password.com", "userAuth": {"method": "SRPg-4096"}}
    s["onepassword-service-account-token"] = _bare(
        "ops_" + b64url_json(dict(claims, secretKey=chars(ALNUM, 40), deviceUuid=chars(ALNUM, 26))),
        "ops_eyJ" + chars(B64URL, 150),
    )
    s["digitalocean-token"] = _bare("dop_" + "v1_" + chars(HEX, 64), "dop_" + "v1_" + "0" * 64)
    heroku = str(uuid.UUID(int=_rng.getrandbits(128)))
    s["heroku-api-key"] = Sample(
        f"HEROKU_API_KEY={heroku}\n", heroku, ("HEROKU_API_KEY=" + str(uuid.UUID(int=0)) + "\n",)
    )
    s["heroku-api-key-v2"] = _bare("HRKU-" + "AA" + chars(B64URL, 58), "HRKU-" + "AA" + "x" * 58)
    cloudflare = chars(B64URL, 40)
    s["cloudflare-api-credential"] = Sample(
        f"CLOUDFLARE_API_TOKEN={cloudflare}\n", cloudflare, ("CLOUDFLARE_API_TOKEN=" + "x" * 40,)
    )
    s["cloudflare-origin-ca-key"] = _bare(
        "v1.0-" + chars(HEX, 24) + "-" + chars(HEX, 146), "v1.0-" + "0" * 24 + "-" + "0" * 146
    )
    s["alibaba-access-key-id"] = _bare("LTAI" + chars(ALNUM, 20), "LTAI" + "x" * 12)
    ali = chars(ALNUM, 30)
    s["alibaba-access-key-secret"] = Sample(
        f"ALIBABA_CLOUD_ACCESS_KEY_SECRET={ali}\n",
        ali,
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + "x" * 30 + "\n",),
    )
    s["databricks-token"] = _bare("dapi" + chars(HEX, 32), "dapi" + "0" * 32)
    okta = "00" + chars(B64URL, 40)
    s["okta-api-token"] = Sample(
        f"OKTA_API_TOKEN={okta}\n", okta, ("OKTA_API_TOKEN=00" + "x" * 40 + "\n",)
    )
    dd = chars(HEX, 32)
    s["datadog-api-key"] = Sample(f"DD_API_KEY={dd}\n", dd, ("DD_API_KEY=" + "0" * 32 + "\n",))
    s["newrelic-user-api-key"] = _bare("NRAK-" + chars(upper, 27), "NRAK-" + "X" * 27)
    s["newrelic-insert-key"] = _bare("NRII-" + chars(B64URL, 32), "NRII-" + "x" * 32)
    s["newrelic-license-key"] = _bare(chars(HEX, 36) + "NRAL", "0" * 36 + "NRAL")
    sentry_claims = {
        "iat": 1_700_000_000.5,
        "url": "https://sentry.io",
        "region_url": "https://us.sentry.io",
        "org": "demo",
    }
    sentry_body = base64.b64encode(json.dumps(sentry_claims).encode()).decode().rstrip("=")
    s["sentry-org-token"] = _bare(
        "sntrys_" + sentry_body + "_" + chars(B64, 43),
        "sntrys_" + "eyJ" + chars(B64, 60) + "_" + chars(B64, 43),
    )
    s["sentry-user-token"] = _bare("sntryu_" + chars(HEX, 64), "sntryu_" + "0" * 64)
    dsn_key = chars(HEX, 32)
    s["sentry-dsn"] = Sample(
        f"SENTRY_DSN=https://{dsn_key}@o4506.ingest.sentry.io/4506123\n",
        dsn_key,
        ("SENTRY_DSN=https://" + "0" * 32 + "@o0.ingest.sentry.io/0\n",),
    )
    grafana = {"o": "123456", "n": "stack-demo", "k": chars(ALNUM, 24), "m": {"r": "us"}}
    s["grafana-cloud-token"] = _bare(
        "glc_" + base64.b64encode(json.dumps(grafana).encode()).decode(),
        "glc_" + base64.b64encode(_rng.randbytes(60)).decode(),
    )
    s["grafana-service-account-token"] = _bare(
        "glsa_" + chars(ALNUM, 32) + "_" + chars(HEX, 8), "glsa_" + "x" * 32 + "_" + "0" * 8
    )
    s["shopify-token"] = _bare("shpat_" + chars(HEX, 32), "shpat_" + "0" * 32)
    s["square-access-token"] = _bare("EAAA" + chars(B64URL, 60), "EAAA" + "x" * 60)
    s["square-oauth-secret"] = _bare("sq0csp-" + chars(B64URL, 43), "sq0csp-" + "x" * 43)
    s["paypal-braintree-access-token"] = _bare(
        "access_token$production$" + chars(HEX + "ghijklmnopqrstuvwxyz", 16) + "$" + chars(HEX, 32),
        "access_token$production$" + "0" * 16 + "$" + "0" * 32,
    )
    s["atlassian-api-token"] = _bare(
        "ATATT3" + "xFfGF0" + chars(B64URL, 174) + "=" + chars("0123456789ABCDEF", 8),
        "ATATT3" + "x" * 180,
    )
    s["bitbucket-app-password"] = _bare("ATBB" + chars(ALNUM, 32), "ATBB" + "x" * 32)
    s["linear-api-key"] = _bare("lin_api_" + chars(ALNUM, 40), "lin_api_" + "x" * 40)
    s["postman-api-key"] = _bare(
        "PMAK-" + chars(HEX, 24) + "-" + chars(HEX, 34), "PMAK-" + "0" * 24 + "-" + "0" * 34
    )
    s["notion-token"] = _bare(
        "ntn_" + chars("0123456789", 11) + chars(ALNUM, 35), "ntn_" + "0" * 11 + "x" * 35
    )
    s["airtable-pat"] = _bare(
        "pat" + chars(ALNUM, 14) + "." + chars(HEX, 64), "pat" + "x" * 14 + "." + "0" * 64
    )
    s["figma-pat"] = _bare("figd_" + chars(B64URL, 40), "figd_" + "x" * 40)
    s["mapbox-secret-token"] = _bare(
        "sk." + b64url_json({"u": "demo", "a": chars(ALNUM, 25)}) + "." + chars(B64URL, 22),
        "sk." + "eyJ1Ijoi" + chars(B64URL, 40) + "." + chars(B64URL, 22),
    )
    password = chars(ALNUM, 20)
    s["database-url-password"] = Sample(
        f"DATABASE_URL=postgres://app:{password}@db.internal:5432/app\n",
        password,
        (
            "DATABASE_URL=postgres://postgres:password@localhost/db\n",
            "DATABASE_URL=postgres://app:${DB_PASSWORD}@db/app\n",
            "DATABASE_URL=mysql://root:changeme123@localhost/app\n",
            "DATABASE_URL=postgres://app:12345678@localhost/app\n",
        ),
    )
    generic = chars(ALNUM, 32)
    s["generic-secret-assignment"] = Sample(
        f'API_KEY = "{generic}"\n',
        generic,
        (
            'api_key = "changeme-please-now"\n',
            "password: ${DB_PASSWORD}\n",
            'secret = os.environ["APP_SECRET"]\n',
            'api_key = "xxxxxxxxxxxxxxxx"\n',
            "token = process.env.API_TOKEN\n",
            'auth_token = process.env.API_TOKEN || ""\n',
            'password = "<your-password>"\n',
            "client_secret: aaaaaaaaaaaaaaaa\n",
            'api_key = "abcabcabcabcabcabc"\n',
            'password = "1234567890123"\n',
            "secret_key = settings.SECRET_KEY\n",
            'api_key = "your_api_key_here"\n',
            "password: {{ vault_db_password }}\n",
            'private_key = "example-private-key"\n',
            "SECRET=dummy-secret-value\n",
            "passwd: HTTPPasswordMgr\n",
            "passwd = HTTPPasswordMgr()\n",
            "DATABASE_PASSWORD=keystead://secret/db/main#password\n",
            'api_key: "KEYSTEAD://secret/payments#stripe_key"\n',
        ),
    )
    return s


SAMPLES = _build()

__all__ = ["SAMPLES", "Sample", "break_last", "chars", "github_style", "jwt_token"]
