"""Client IP -> country, offline, for the ``countries`` restriction.

``GeoIPCountryResolver`` reads the IPv4+IPv6 country file that ships inside the
``geoip2fast`` package (MaxMind GeoLite2 data, no network access). The file is loaded once
per process, on the first lookup or on an explicit ``load()``; loading takes ~0.1 s and
~50 MiB of memory, so it only happens in processes that see a key with a country rule (or
that warm it up at start-up to keep the first such request fast).

``geoip2fast`` keeps its tables in module globals, so there is one table per process
whatever the number of resolver objects. Two side effects of that library are undone or
avoided here: importing it overwrites ``PYTHONWARNINGS`` and ``PYTHONIOENCODING`` in
``os.environ`` (restored right after the import), and loading runs ``ps`` in a
subprocess to report its memory use (replaced by a no-op before loading).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

from keystead.errors import ConfigurationError

#: ISO 3166-1 alpha-2 codes (all 249 assigned) plus XK (Kosovo) and EU (networks GeoLite2
#: places in Europe without a country), which the GeoIP data also returns.
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN
    GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE
    KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA
    PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK
    SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
    """.split()
)

_DATA_FILE = "geoip2fast-ipv6.dat.gz"  # IPv4 and IPv6; the default file is IPv4 only
_ENV_TOUCHED_BY_IMPORT = ("PYTHONWARNINGS", "PYTHONIOENCODING")


class CountryResolver(Protocol):
    """Maps a client IP (canonical text, IPv4-mapped already folded) to a country."""

    def country_of(self, ip: str) -> str | None:
        """ISO 3166-1 alpha-2 code in upper case, or None when unknown (private, unlisted)."""
        ...


_lock = threading.Lock()
_geoip: Any = None


def _load() -> Any:
    global _geoip
    with _lock:
        if _geoip is not None:
            return _geoip
        saved = {name: os.environ.get(name) for name in _ENV_TOUCHED_BY_IMPORT}
        try:
            import geoip2fast
            from geoip2fast import geoip2fast as implementation
        except ImportError as exc:  # pragma: no cover - a hard dependency
            raise ConfigurationError(f"country restrictions need geoip2fast: {exc}") from exc
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        implementation.get_mem_usage = lambda: 0.0  # instead of running `ps` in a subprocess
        # An absolute path: otherwise geoip2fast first looks for (and unpickles) a file of
        # that name in the current directory.
        path = os.path.join(os.path.dirname(os.path.abspath(geoip2fast.__file__)), _DATA_FILE)
        try:
            _geoip = implementation.GeoIP2Fast(geoip2fast_data_file=path)
        except Exception as exc:
            raise ConfigurationError(f"cannot load the GeoIP data file {path}: {exc}") from exc
        return _geoip


_CACHE_MAX = 4096


class GeoIPCountryResolver:
    """The offline resolver over geoip2fast's packaged data; loads on first use.

    Answers are kept in a bounded per-resolver cache (a lookup costs ~3 us, a hit ~0.1 us),
    dropped whole when full.
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, str | None] = {}

    @property
    def loaded(self) -> bool:
        return _geoip is not None

    def load(self) -> None:
        """Load the data now (idempotent); raises ``ConfigurationError`` if it cannot."""
        _load()

    def country_of(self, ip: str) -> str | None:
        cache = self._cache
        if ip in cache:
            return cache[ip]
        geoip = _geoip if _geoip is not None else _load()
        code: object = geoip.lookup(ip).country_code
        # "--" is private, reserved or not found; "" an invalid address or internal error.
        answer = code if isinstance(code, str) and code in COUNTRY_CODES else None
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[ip] = answer
        return answer


_DEFAULT = GeoIPCountryResolver()


def default_resolver() -> GeoIPCountryResolver:
    """The process-wide resolver used when a check is given none."""
    return _DEFAULT


__all__ = ["COUNTRY_CODES", "CountryResolver", "GeoIPCountryResolver", "default_resolver"]
