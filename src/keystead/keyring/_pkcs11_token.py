"""The only module that touches the PKCS#11 driver (python-pkcs11, ``keystead[hsm]``).

:mod:`keystead.keyring.pkcs11` imports it lazily. It offers a few typed calls on
one token; key objects are referred to by :class:`KeyRef` (label and ``CKA_ID``),
never by value.

Caching: a PKCS#11 library can be initialised once per process and a user logs in
once per token, so the library and one logged-in read-write session per token are
kept process-wide (:data:`_SESSIONS`), and every call on them holds :data:`_LOCK`
(the library is initialised without OS locking, so Keystead serialises its calls).
A session the token dropped (device removed, library re-initialised) is reopened
once; a forked child initialises the library again before using it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as px
from pkcs11._pkcs11 import lib as Library
from pkcs11.types import Key, UnwrapMixin, WrapMixin

from keystead.errors import ConfigurationError

KEK_BITS = 256
MECHANISM = Mechanism.AES_KEY_WRAP  # RFC 3394, as file:// and env:// wrap

_LOCK = threading.RLock()
_LIBS: dict[str, tuple[int, Library]] = {}
_SESSIONS: dict[tuple[str, str, str], tuple[int, pkcs11.Session]] = {}
_T = TypeVar("_T")

# The session is gone, not the data: reopen and try once more.
_RETRY = (
    px.SessionHandleInvalid,
    px.SessionClosed,
    px.DeviceRemoved,
    px.TokenNotPresent,
    px.UserNotLoggedIn,
    px.ObjectHandleInvalid,
    px.KeyHandleInvalid,
    px.WrappingKeyHandleInvalid,
    px.UnwrappingKeyHandleInvalid,
)
# What a wrapped key that its master key did not make looks like (SoftHSM2 answers
# CKR_GENERAL_ERROR for a failed RFC 3394 integrity check).
_NOT_OURS = (
    px.GeneralError,
    px.EncryptedDataInvalid,
    px.EncryptedDataLenRange,
    px.WrappedKeyInvalid,
    px.WrappedKeyLenRange,
    px.DataInvalid,
    px.DataLenRange,
)

# Version N of the master key: an AES-256 key that stays on the token.
MASTER_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
    Attribute.WRAP: True,
    Attribute.UNWRAP: True,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.DERIVE: False,
}
# A data key while it is on the token: a session object, gone when destroyed.
_DATA_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: False,
    Attribute.SENSITIVE: False,
    Attribute.EXTRACTABLE: True,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
}


class _MasterKey(WrapMixin, UnwrapMixin):
    """What a master key object offers (python-pkcs11 mixes these in at run time)."""


class WrongKey(Exception):
    """The wrapped bytes do not unwrap under this key object."""


@dataclass(frozen=True, slots=True)
class KeyRef:
    label: str
    key_id: bytes


class Token:
    """One token of one PKCS#11 module; ``pin`` is called when a session is opened."""

    def __init__(self, module_path: str, token_label: str, serial: str, pin: Callable[[], str]):
        self._module = module_path
        self._label = token_label
        self._serial = serial
        self._pin = pin
        self._where = f"token '{token_label or serial}' of {module_path}"
        self._handles: dict[KeyRef, _MasterKey] = {}
        self._handles_of: pkcs11.Session | None = None

    def keys(self, prefix: str) -> list[KeyRef]:
        """The AES secret keys whose label starts with ``prefix``."""

        def find(session: pkcs11.Session) -> list[KeyRef]:
            found = session.get_objects(
                {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES}
            )
            refs = []
            for obj in found:
                label = str(obj[Attribute.LABEL])
                if label.startswith(prefix):
                    refs.append(KeyRef(label, bytes(obj[Attribute.ID])))
            return refs

        return self._call(find)

    def generate(self, label: str) -> KeyRef:
        key_id = os.urandom(16)

        def generate(session: pkcs11.Session) -> None:
            session.generate_key(
                KeyType.AES,
                KEK_BITS,
                label=label,
                id=key_id,
                store=True,
                template=MASTER_TEMPLATE,
            )

        self._call(generate)
        return KeyRef(label, key_id)

    def destroy(self, ref: KeyRef) -> None:
        """Delete a key object from the token (``C_DestroyObject``)."""

        def destroy(session: pkcs11.Session) -> None:
            self._handles.pop(ref, None)
            session.get_key(
                object_class=ObjectClass.SECRET_KEY, label=ref.label, id=ref.key_id
            ).destroy()

        self._call(destroy)

    def wrap(self, ref: KeyRef, data_key: bytes) -> bytes:
        def wrap(session: pkcs11.Session) -> bytes:
            kek = self._find(session, ref)
            held = session.create_object(
                {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.VALUE: data_key,
                    **_DATA_KEY_TEMPLATE,
                }
            )
            try:
                return bytes(kek.wrap_key(cast(Key, held), mechanism=MECHANISM))
            finally:
                held.destroy()

        return self._call(wrap)

    def unwrap(self, ref: KeyRef, wrapped: bytes) -> bytes:
        """The data key, or :class:`WrongKey`."""

        def unwrap(session: pkcs11.Session) -> bytes:
            kek = self._find(session, ref)
            try:
                held = kek.unwrap_key(
                    ObjectClass.SECRET_KEY,
                    KeyType.AES,
                    wrapped,
                    mechanism=MECHANISM,
                    store=False,
                    template=_DATA_KEY_TEMPLATE,
                )
            except _NOT_OURS:
                raise WrongKey from None
            try:
                return bytes(held[Attribute.VALUE])
            finally:
                held.destroy()

        return self._call(unwrap)

    def attributes(self, ref: KeyRef, names: list[Attribute]) -> dict[Attribute, Any]:
        """Attributes of a key object (for status and tests); a sensitive one raises."""
        return self._call(lambda s: {name: self._find(s, ref)[name] for name in names})

    def _find(self, session: pkcs11.Session, ref: KeyRef) -> _MasterKey:
        """The key object of ``ref``: its handle is kept while the session lives."""
        if self._handles_of is not session:
            self._handles, self._handles_of = {}, session
        cached = self._handles.get(ref)
        if cached is not None:
            return cached
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=ref.label, id=ref.key_id)
        if not isinstance(key, WrapMixin) or not isinstance(key, UnwrapMixin):
            raise ConfigurationError(f"the master key object {ref.label} cannot wrap")
        self._handles[ref] = cast(_MasterKey, key)
        return self._handles[ref]

    def _call(self, action: Callable[[pkcs11.Session], _T]) -> _T:
        with _LOCK:
            for attempt in (1, 2):
                session = self._session(fresh=attempt == 2)
                try:
                    return action(session)
                except _RETRY:
                    if attempt == 2:
                        raise ConfigurationError(f"the {self._where} is unavailable") from None
                except px.NoSuchKey:
                    raise ConfigurationError(
                        f"a master key object disappeared from the {self._where}"
                    ) from None
                except px.PKCS11Error as exc:
                    raise ConfigurationError(
                        f"the {self._where} refused the operation ({type(exc).__name__})"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _session(self, *, fresh: bool) -> pkcs11.Session:
        key = (self._module, self._label, self._serial)
        cached = _SESSIONS.get(key)
        pid = os.getpid()
        if cached is not None and cached[0] == pid and not fresh:
            return cached[1]
        _SESSIONS.pop(key, None)
        token = self._token(reinitialize=fresh or (cached is not None and cached[0] != pid))
        try:
            session = token.open(rw=True, user_pin=self._pin())
        except (px.PinIncorrect, px.PinInvalid, px.PinLenRange):
            raise ConfigurationError(f"the {self._where} refused the PIN") from None
        except px.PinLocked:
            raise ConfigurationError(f"the PIN of the {self._where} is locked") from None
        except px.UserAlreadyLoggedIn:
            raise ConfigurationError(
                f"the {self._where} is already logged in by this process outside Keystead"
            ) from None
        except px.PKCS11Error as exc:
            raise ConfigurationError(
                f"could not open the {self._where} ({type(exc).__name__})"
            ) from None
        _SESSIONS[key] = (pid, session)
        return session

    def _token(self, *, reinitialize: bool) -> pkcs11.Token:
        pid = os.getpid()
        loaded = _LIBS.get(self._module)
        try:
            if loaded is None:
                lib = pkcs11.lib(self._module)
            else:
                lib = loaded[1]
                if reinitialize or loaded[0] != pid:
                    _forget_sessions(self._module)
                    lib.reinitialize()
        except px.PKCS11Error as exc:
            raise ConfigurationError(
                f"could not load the PKCS#11 module {self._module} ({exc})"
            ) from None
        _LIBS[self._module] = (pid, lib)
        selector = {"token_label": self._label} if self._label else {}
        if self._serial:
            selector["token_serial"] = self._serial
        try:
            tokens = list(lib.get_tokens(**selector))  # type: ignore[arg-type]
        except px.PKCS11Error as exc:
            raise ConfigurationError(
                f"could not list the tokens of {self._module} ({type(exc).__name__})"
            ) from None
        if len(tokens) != 1:
            state = "no" if not tokens else "more than one"
            raise ConfigurationError(f"{state} {self._where}: check token= / serial=")
        return tokens[0]


def _forget_sessions(module: str) -> None:
    for key in [k for k in _SESSIONS if k[0] == module]:
        del _SESSIONS[key]


def reinitialize(module_path: str) -> None:
    """Re-initialise a loaded module: it then sees tokens made since (tests, tooling)."""
    with _LOCK:
        loaded = _LIBS.get(module_path)
        if loaded is not None:
            _forget_sessions(module_path)
            loaded[1].reinitialize()
            _LIBS[module_path] = (os.getpid(), loaded[1])


__all__ = [
    "KEK_BITS",
    "MASTER_TEMPLATE",
    "MECHANISM",
    "KeyRef",
    "Token",
    "WrongKey",
    "reinitialize",
]
