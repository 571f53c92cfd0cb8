"""Master-key providers, chosen by URI (``KEYSTEAD_MASTER_KEY_URL``)::

    keyring = open_keyring("file:///etc/keystead/master-key.secret")  # "env://NAME", "pkcs11:..."
    version, wrapped = keyring.wrap(data_key)
    data_key = keyring.unwrap(version, wrapped)

The keyring wraps the data keys of :mod:`keystead.core.envelope`; it never hands
out its own keys. Formats and rotation: docs/secrets.md.
"""

from __future__ import annotations

from keystead.keyring.base import PROVIDERS, Keyring, open_keyring

__all__ = ["PROVIDERS", "Keyring", "open_keyring"]
