"""The city's calling systems: who they are (a token), what they may do (scopes), whose data.

Each system is an entry of the back-office file (``CITYBOT_BACKOFFICE_FILE``, written by
``python -m bot backoffice add``)::

    systems:
      school_office:
        token_sha256: <SHA-256 of its API token; the token is shown once>
        callback_url: https://school.example-city.fi/citybot/callbacks
        callback_secret: <signs callbacks>
        scopes: [offers:create, offers:read]          # what it may call (below)
        offer_kinds: [school_placement]               # which offers it may create (all if absent)
        all_citizens: false                           # true: any citizen; false: its own only
        allow_private_callback: false                 # true: callbacks to a private network/loopback

A system's own citizens are those it has created offers for. Only a system with ``all_citizens``
(the city's e-services or data protection system) may act on other citizens, and only such a
system may have the ``citizens:export`` and ``citizens:erase`` scopes: an export or an erasure
covers every system's data. A system without ``scopes`` gets the least: ``offers:create`` and
``offers:read``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.errors import CitybotError
from bot.core.private_files import write_private
from bot.knowledge.files import read_yaml
from bot.systems.urls import CallbackUrlError, check_callback_url

logger = logging.getLogger(__name__)
SCOPES = (
    "offers:create",  # POST /offers
    "offers:read",  # GET /offers/{id} (its own), GET /citizens/{id}/offers
    "consent:write",  # PUT /citizens/{id}/consent/{purpose}
    "link_codes:create",  # POST /citizens/{id}/link-code
    "citizens:export",  # GET /citizens/{id}/export (needs all_citizens)
    "citizens:erase",  # DELETE /citizens/{id} (needs all_citizens)
)
DEFAULT_SCOPES = ("offers:create", "offers:read")
WHOLE_CITIZEN_SCOPES = ("citizens:export", "citizens:erase")


class SystemsError(CitybotError):
    """The back-office systems file is wrong, or a system name is taken."""


@dataclass(frozen=True)
class System:
    """One calling system of the city (a school office, the screening register...)."""

    name: str
    token_sha256: str
    callback_url: str = ""
    callback_secret: str = ""
    scopes: frozenset[str] = frozenset(DEFAULT_SCOPES)
    offer_kinds: frozenset[str] | None = None  # None: every kind
    all_citizens: bool = False
    allow_private_callback: bool = False

    def may(self, scope: str) -> bool:
        """True when the system has ``scope``."""
        return scope in self.scopes

    def may_create(self, kind: str) -> bool:
        """True when the system may create offers of ``kind``."""
        return self.may("offers:create") and (self.offer_kinds is None or kind in self.offer_kinds)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _system(path: Path, name: str, entry: dict[str, object]) -> System:
    digest = str(entry.get("token_sha256", ""))
    if len(digest) != 64:
        raise SystemsError(f"{path}: system {name} needs token_sha256 (64 hex characters)")
    raw_scopes = entry.get("scopes")
    scopes = frozenset(str(s) for s in raw_scopes) if isinstance(raw_scopes, list) else frozenset(DEFAULT_SCOPES)
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise SystemsError(f"{path}: system {name}: unknown scopes {unknown}; known: {', '.join(SCOPES)}")
    all_citizens = entry.get("all_citizens") is True
    if scopes & set(WHOLE_CITIZEN_SCOPES) and not all_citizens:
        raise SystemsError(f"{path}: system {name}: export and erase need all_citizens: true")
    kinds = entry.get("offer_kinds")
    private = entry.get("allow_private_callback") is True
    url = str(entry.get("callback_url") or "")
    if url:
        try:
            check_callback_url(url, allow_private=private)
        except CallbackUrlError as error:
            raise SystemsError(f"{path}: system {name}: {error}") from None
    return System(
        name=name,
        token_sha256=digest,
        callback_url=url,
        callback_secret=str(entry.get("callback_secret") or ""),
        scopes=scopes,
        offer_kinds=frozenset(str(k) for k in kinds) if isinstance(kinds, list) else None,
        all_citizens=all_citizens,
        allow_private_callback=private,
    )


def load_systems(path: Path) -> dict[str, System]:
    """The systems of the back-office file; {} when it does not exist."""
    if not path.exists():
        return {}
    data = read_yaml(path) or {}
    return {str(name): _system(path, str(name), dict(entry)) for name, entry in (data.get("systems") or {}).items()}


def _write_systems(path: Path, data: dict[str, object]) -> None:
    write_private(
        path,
        "# The city's systems that call the back-office API (python -m bot backoffice add).\n"
        + yaml.safe_dump(data, sort_keys=True),
    )


def add_system(
    path: Path,
    name: str,
    callback_url: str = "",
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    offer_kinds: tuple[str, ...] | None = None,
    all_citizens: bool = False,
    allow_private_callback: bool = False,
) -> tuple[str, str]:
    """Add a system to the file; returns (API token, callback secret), shown once."""
    if name in load_systems(path):
        raise SystemsError(f"a system called {name} exists already")
    token, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    data = (read_yaml(path) if path.exists() else None) or {}
    entry: dict[str, object] = {
        "token_sha256": _digest(token),
        "callback_url": callback_url,
        "callback_secret": secret,
        "scopes": list(scopes),
        "all_citizens": all_citizens,
        "allow_private_callback": allow_private_callback,
    }
    if offer_kinds is not None:
        entry["offer_kinds"] = list(offer_kinds)
    _system(path, name, entry)  # refuse to write a system the gateway would not read
    data.setdefault("systems", {})[name] = entry
    _write_systems(path, data)
    return token, secret


def remove_system(path: Path, name: str) -> None:
    """Take a system out of the file (its token stops working at the gateway's next read)."""
    data = (read_yaml(path) if path.exists() else None) or {}
    if name not in (data.get("systems") or {}):
        raise SystemsError(f"no system called {name}")
    del data["systems"][name]
    _write_systems(path, data)


def authenticate(systems: dict[str, System], header: str | None) -> System | None:
    """The system whose token is in ``Authorization: Bearer <token>`` (constant-time), or None."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = _digest(token.strip()).encode()
    found = None
    for system in systems.values():
        if hmac.compare_digest(digest, system.token_sha256.encode()):
            found = system
    return found


class Systems:
    """The systems file, re-read when it changes (a system added while the service runs works)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._systems: dict[str, System] = {}
        self._reload()

    def _reload(self) -> None:
        stamp = self._path.stat().st_mtime if self._path.exists() else None
        if stamp != self._stamp:
            self._systems = load_systems(self._path)
            self._stamp = stamp

    def get(self, name: str) -> System | None:
        """The system called ``name``, or None."""
        self._reload()
        return self._systems.get(name)

    def authenticate(self, header: str | None) -> System | None:
        """The system whose token is in the Authorization header, or None."""
        self._reload()
        return authenticate(self._systems, header)
