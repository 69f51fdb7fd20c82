"""One function decides the client address (core.net): a forged X-Forwarded-For never buys a
fresh allowance, and behind NUM_PROXIES trusted proxies the address they saw is the one counted."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.throttling import BaseThrottle

from core import net
from tests.conftest import PASSWORD
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post

PROXY = "10.0.0.1"  # the reverse proxy: every request through it has this REMOTE_ADDR


def request_from(remote: str | None = "192.0.2.10", forwarded: str | None = None):
    meta = {}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return request


def lookup(client, n: int, **extra):
    body = {"ticket_number": f"GN-2611-B{n:05d}", "phone_last4": "1234"}
    return post(client, "/public/status/", body, **extra)


# --- client_address ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (None, "192.0.2.10"),
        ("203.0.113.7", "192.0.2.10"),
        ("203.0.113.7, 198.51.100.2", "192.0.2.10"),
        ("garbage", "192.0.2.10"),
    ],
)
def test_without_proxies_forwarded_headers_are_ignored(settings, forwarded, expected):
    settings.NUM_PROXIES = 0
    assert net.client_address(request_from(forwarded=forwarded)) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),  # what our proxy appended
        ("1.1.1.1, 203.0.113.7", "203.0.113.7"),  # the client's own entry on the left is ignored
        ("1.1.1.1, 2.2.2.2, 203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:DB8::0001", "2001:db8::1"),  # canonical text: one address, one spelling
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped IPv6 is the IPv4 address
        (None, PROXY),  # not through the proxy (a health check): the peer itself
        ("", PROXY),
        ("1.1.1.1, not-an-ip", PROXY),  # the trusted entry is unreadable: never the client's
        ("1.1.1.1, 203.0.113.7:5555", PROXY),  # host:port is not an address
        ("1.1.1.1,", PROXY),
    ],
)
def test_one_proxy_uses_the_rightmost_entry(settings, forwarded, expected):
    settings.NUM_PROXIES = 1
    assert net.client_address(request_from(PROXY, forwarded)) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7, 10.0.0.9", "203.0.113.7"),  # client, outer proxy (written by the inner one)
        ("1.1.1.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        ("1.1.1.1, 2.2.2.2, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        # Fewer entries than proxies: all were written by our proxies; the leftmost is used.
        ("203.0.113.7", "203.0.113.7"),
        ("junk, 10.0.0.9", PROXY),
        ("junk", PROXY),
    ],
)
def test_two_proxies_use_the_second_entry_from_the_right(settings, forwarded, expected):
    settings.NUM_PROXIES = 2
    assert net.client_address(request_from(PROXY, forwarded)) == expected


@pytest.mark.parametrize("remote", [None, "", "unix:/run/gunicorn.sock", "999.1.1.1"])
def test_an_unreadable_peer_address_is_unknown_and_the_header_does_not_replace_it(settings, remote):
    settings.NUM_PROXIES = 0
    assert net.client_address(request_from(remote, "203.0.113.7")) == net.UNKNOWN


def test_an_ipv6_client_is_counted_per_64_and_ipv4_per_address():
    assert net.address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert net.address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert net.address_bucket("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert net.address_bucket("203.0.113.7") == "203.0.113.7"
    assert net.address_bucket("nonsense") == net.UNKNOWN


@pytest.mark.parametrize("proxies", [0, 1])
def test_drf_throttles_read_the_same_address(settings, proxies):
    # REST_FRAMEWORK["NUM_PROXIES"] follows NUM_PROXIES, so a DRF throttle agrees with core.net.
    from rest_framework.settings import api_settings

    settings.NUM_PROXIES = proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    assert api_settings.NUM_PROXIES == proxies
    request = request_from(PROXY, "1.1.1.1, 203.0.113.7")
    assert BaseThrottle().get_ident(request) == net.client_address(request)


def test_the_shipped_settings_give_drf_zero_proxies_not_none():
    from django.conf import settings

    # None would make DRF trust the raw header (the bypass this replaces).
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.NUM_PROXIES == 0


# --- the throttles -------------------------------------------------------------------------------

db = pytest.mark.django_db


@db
def test_a_rotating_forwarded_header_does_not_escape_the_public_lookup_limit(anon_api, settings):
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 5
    codes = [
        lookup(anon_api, n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(8)
    ]
    assert codes == [404] * 5 + [429] * 3


@db
def test_a_rotating_forwarded_header_does_not_escape_the_status_page_limit(client, settings):
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 3
    codes = [
        client.post(
            "/status/",
            {"ticket_number": f"GN-2611-AAAAA{n}", "phone_last4": "1234"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(5)
    ]
    assert codes == [404, 404, 404, 429, 429]


@db
def test_fresh_ipv6_addresses_from_one_64_share_one_allowance(anon_api, settings):
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 3
    codes = [
        lookup(anon_api, n, REMOTE_ADDR=f"2001:db8:7:7::{n + 1:x}").status_code for n in range(5)
    ]
    assert codes == [404, 404, 404, 429, 429]
    assert lookup(anon_api, 9, REMOTE_ADDR="2001:db8:7:8::1").status_code == 404


def test_a_rotating_forwarded_header_does_not_escape_the_token_lockout(anon_api, desk, settings):
    limit = settings.AXES_FAILURE_LIMIT
    codes = [
        post(
            anon_api,
            "/auth/token/",
            {"username": "desk", "password": f"guess{n}"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(limit + 3)
    ]
    assert codes == [400] * (limit - 1) + [429] * 4
    right = post(
        anon_api,
        "/auth/token/",
        {"username": "desk", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.250",
    )
    assert right.status_code == 429 and "token" not in right.json()


@db
def test_behind_one_proxy_two_clients_get_separate_allowances(anon_api, settings):
    settings.NUM_PROXIES = 1
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 3
    first = [
        lookup(anon_api, n, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code
        for n in range(4)
    ]
    assert first == [404, 404, 404, 429]
    other = lookup(anon_api, 9, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 404


@db
def test_behind_one_proxy_a_forged_leftmost_entry_does_not_escape(anon_api, settings):
    settings.NUM_PROXIES = 1
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 3
    codes = [
        lookup(
            anon_api, n, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7"
        ).status_code
        for n in range(5)
    ]
    assert codes == [404, 404, 404, 429, 429]


def test_behind_one_proxy_the_token_lockout_keys_on_the_address_the_proxy_saw(
    anon_api, desk, settings
):
    settings.NUM_PROXIES = 1
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        post(
            anon_api,
            "/auth/token/",
            {"username": "desk", "password": f"guess{n}"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7",
        )
    right = {"username": "desk", "password": PASSWORD}
    locked = post(
        anon_api, "/auth/token/", right, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    assert locked.status_code == 429
    # The same user from another client behind the same proxy is not locked out.
    elsewhere = post(
        anon_api, "/auth/token/", right, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.8"
    )
    assert elsewhere.status_code == 200 and len(elsewhere.json()["token"]) == 40
