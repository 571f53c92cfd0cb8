"""The Python client of a Keystead server (the SDK).

>>> from keystead.client import Client
>>> with Client("http://127.0.0.1:8400", root_key) as ks:  # doctest: +SKIP
...     api = ks.create_api("payments")
...     created = ks.create_key(api["id"], name="acme")
...     ks.verify_key(created["key"])["valid"]
True
"""

from keystead.client._errors import ApiError, ClientError, ConnectionFailed
from keystead.client._sync import Client

__all__ = ["ApiError", "Client", "ClientError", "ConnectionFailed"]
