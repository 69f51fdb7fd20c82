"""Who is on the other end of a request: the one place that decides a client's address.

Every throttle and lock-out keys on `client_bucket(request)` (the public status lookup, the sign-in
lock-out, DRF's NUM_PROXIES follows the same setting), and logs print `client_address(request)`.

Trust comes from `settings.NUM_PROXIES`, the number of reverse proxies in front of the app that
each append the address they saw to `X-Forwarded-For`:

- 0 (the default): forwarded headers are ignored; the address is `REMOTE_ADDR`. A client can put
  anything in `X-Forwarded-For`, so reading it here would give a fresh allowance per request.
- n > 0: the n-th entry from the right of `X-Forwarded-For`. The rightmost n entries were written
  by our own proxies; anything further left came from the client and is never used.
  With fewer than n entries, every entry was written by one of our proxies (a client can only add
  entries on the left, which makes the list longer), so the leftmost one is used: it is the
  address the outermost proxy that handled the request saw. Without the header (a request that
  did not come through the proxies, e.g. a health check) `REMOTE_ADDR` is used.

An entry that `ipaddress` can't parse (garbage, `host:port`, an empty item) is never trusted:
the answer falls back to `REMOTE_ADDR`, and to "unknown" if that is not an address either (every
such client then shares one allowance, which fails safe).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings

UNKNOWN = "unknown"
# An IPv6 client usually holds a whole /64 (often more) and can pick a fresh address from it for
# every request, so a per-address throttle counts IPv6 clients per /64 network.
IPV6_BUCKET_PREFIX = 64


def parse_address(value: Any) -> str | None:
    """The canonical text of an IP address (IPv4-mapped IPv6 as IPv4), or None if it isn't one."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_address(request: Any) -> str:
    """The client's IP address as text, honouring NUM_PROXIES trusted proxies (module docstring).

    Works with a Django HttpRequest and a DRF Request (both have `.META`).
    """
    meta = request.META
    remote = parse_address(meta.get("REMOTE_ADDR")) or UNKNOWN
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in str(forwarded).split(",")]
    chosen = entries[-proxies] if len(entries) >= proxies else entries[0]
    return parse_address(chosen) or remote


def address_bucket(address: str) -> str:
    """What a throttle counts against: an IPv4 address itself, an IPv6 address's /64 network."""
    parsed = parse_address(address)
    if parsed is None:
        return UNKNOWN
    if ":" in parsed:
        network = ipaddress.ip_network(f"{parsed}/{IPV6_BUCKET_PREFIX}", strict=False)
        return str(network)
    return parsed


def client_bucket(request: Any) -> str:
    """`address_bucket(client_address(request))`: the key every per-address throttle uses."""
    return address_bucket(client_address(request))
