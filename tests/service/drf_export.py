"""Make keys with djangorestframework-api-key in a SQLite database of its own, as
its users do: ``python drf_export.py DB N``. Prints the plaintext keys (JSON) in
the order created; the last one is stored as releases before 3.0 stored keys,
under Django's argon2 password hasher. Run in a process of its own, since Django's
settings are configured once per process."""

from __future__ import annotations

import json
import sys

import django
from django.conf import settings


def main(database: str, count: int) -> None:
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_api_key",
        ],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"],
        USE_TZ=True,
    )
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from rest_framework_api_key.models import APIKey

    call_command("migrate", verbosity=0)
    keys = []
    for n in range(count):
        api_key, key = APIKey.objects.create_key(name=f"client-{n}")
        keys.append(key)
    # a key from before 3.0: a Django password hash (APIKey.is_valid still accepts it)
    APIKey.objects.filter(pk=api_key.pk).update(hashed_key=make_password(key))
    # (APIKey.is_valid accepts it, and would re-hash it to sha512 on the spot)
    print(json.dumps(keys))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
