"""Where callbacks may go: https to public addresses only, unless a system is explicitly allowed
a private network (a city's internal service, or a test on loopback).

Checked twice: the URL when the system is configured (scheme, no user part, no private or
link-local IP literal, no ``localhost``), and every address the name resolves to when a callback
connects (``PublicOnlyResolver``: a name that resolves to a private, loopback, link-local or
metadata address is refused, so changing DNS after configuration does not help either).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from bot.core.errors import CitybotError


class CallbackUrlError(CitybotError):
    """A callback URL the service will not call."""


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (not private, loopback, link-local, metadata)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def check_callback_url(url: str, allow_private: bool = False) -> str:
    """``url`` when the service may call it; CallbackUrlError saying why not otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        raise CallbackUrlError("a callback URL must be https")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise CallbackUrlError("a callback URL must not contain a user part (user@host)")
    host = parts.hostname or ""
    if not host:
        raise CallbackUrlError("a callback URL needs a host")
    try:
        _ = parts.port
    except ValueError:
        raise CallbackUrlError("the callback URL's port is not a number") from None
    if allow_private:
        return url
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise CallbackUrlError("a callback URL must name a public host") from None
        return url
    if not is_public(host):
        raise CallbackUrlError("a callback URL must not point to a private, loopback or link-local address")
    return url


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, and refuses a name with any non-public address."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> Any:
        addresses = await self._resolver.resolve(host, port, family)
        if not addresses or any(not is_public(str(a["host"])) for a in addresses):
            raise OSError(f"{host} resolves to an address callbacks may not reach")
        return addresses

    async def close(self) -> None:
        await self._resolver.close()
