"""Where an endpoint's host resolves, and whether it may be sent to (server-side request forgery):
checked when an endpoint is saved and again before every delivery, since DNS answers change."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.webhooks.rules import address_refusal


@dataclass(frozen=True)
class Destination:
    host: str  # as the URL names it (the Host header, TLS's server name)
    address: str  # the checked address the request goes to (pinned: no second lookup)


class AddressRefusedError(Exception):
    """The URL's host does not resolve, or resolves to an address the organisation may not use."""


async def destination(url: str, *, allow_private_addresses: bool) -> Destination:
    """The URL's host and the address to send to: every address the host resolves to must be
    allowed (a name with one public and one private address is refused)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as error:
            raise AddressRefusedError(f"host {host} does not resolve ({error})") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise AddressRefusedError(f"host {host} does not resolve")
    if not allow_private_addresses:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal is not None:
                raise AddressRefusedError(f"host {host} {refusal}")
    return Destination(host=host, address=addresses[0])
