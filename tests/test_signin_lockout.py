"""Sign-in lock-out on /login/, /admin/login/ and the token endpoint: per (username, address) and
per address, in the shared cache, with the wait time shown, the right password refused while
locked, and sign-in back after the cool-off."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from service_center import signin
from tests import test_api_public
from tests.conftest import PASSWORD
from tests.test_api_public import _http_post, two_servers  # noqa: F401 - the fixture
from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import post

pytestmark = pytest.mark.django_db

HOME = "192.0.2.10"
ELSEWHERE = "198.51.100.20"


def page_login(client: Client, username: str, password: str, address: str = HOME, **extra):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def admin_login(client: Client, username: str, password: str, address: str = HOME):
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", data, REMOTE_ADDR=address)


def token(api, username: str, password: str, address: str = HOME):
    body = {"username": username, "password": password}
    return post(api, "/auth/token/", body, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(times: int, username: str, address: str = HOME) -> list[int]:
    return [page_login(Client(), username, f"wrong{n}", address).status_code for n in range(times)]


# --- /login/ -------------------------------------------------------------------------------------


def test_the_login_page_locks_a_username_after_the_limit_with_the_wait_in_korean(desk, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert fail(limit - 1, "desk") == [200] * (limit - 1)
    locked = page_login(Client(), "desk", "wrong-again")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    page = locked.content.decode()
    assert "로그인 실패가 너무 많습니다. 15분 후에 다시 시도하세요." in page
    assert 'name="password"' in page  # the form again, to try later
    # The right password does not get in while locked.
    client = Client()
    refused = page_login(client, "desk", PASSWORD)
    assert refused.status_code == 429 and not signed_in(client)
    assert "15분" in refused.content.decode()


def test_the_locked_page_speaks_english_to_an_english_browser(desk, settings):
    fail(settings.AXES_FAILURE_LIMIT, "desk")
    locked = page_login(Client(), "desk", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "Too many failed sign-ins; try again in 15 minutes." in locked.content.decode()


def test_the_wait_shown_counts_down_and_sign_in_works_after_it(desk, settings, monkeypatch):
    fail(settings.AXES_FAILURE_LIMIT, "desk")
    start = time.time()
    monkeypatch.setattr(signin.time, "time", lambda: start + 10 * 60 + 5)
    later = page_login(Client(), "desk", PASSWORD)
    assert later.status_code == 429 and "5분" in later.content.decode()
    assert int(later["Retry-After"]) <= 5 * 60
    monkeypatch.setattr(signin.time, "time", lambda: start + 15 * 60 + 1)
    client = Client()
    back = page_login(client, "desk", PASSWORD)
    assert back.status_code == 302 and signed_in(client)


def test_the_lock_expires_from_the_shared_cache_after_the_cool_off(desk, settings):
    # A real (two-second) cool-off: the lock must carry a cache expiry, not only a timestamp.
    # One failure locks, so a slow machine can't let the counting window lapse first.
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    settings.AXES_FAILURE_LIMIT = 1
    fail(1, "desk")
    assert page_login(Client(), "desk", PASSWORD).status_code == 429
    time.sleep(2.1)
    client = Client()
    assert page_login(client, "desk", PASSWORD).status_code == 302 and signed_in(client)


def test_attempts_during_the_lock_do_not_extend_it(desk, settings, monkeypatch):
    fail(settings.AXES_FAILURE_LIMIT, "desk")
    start = time.time()
    monkeypatch.setattr(signin.time, "time", lambda: start + 14 * 60)
    assert page_login(Client(), "desk", "still-guessing").status_code == 429
    monkeypatch.setattr(signin.time, "time", lambda: start + 15 * 60 + 1)
    assert page_login(Client(), "desk", PASSWORD).status_code == 302


def test_the_lock_is_per_username_and_address(desk, tech, settings):
    fail(settings.AXES_FAILURE_LIMIT, "desk", HOME)
    assert page_login(Client(), "desk", PASSWORD, HOME).status_code == 429
    # Another user from another address, the same user elsewhere, another user at the same
    # address (the address limit is not reached): all unaffected.
    assert page_login(Client(), "tech", PASSWORD, ELSEWHERE).status_code == 302
    assert page_login(Client(), "desk", PASSWORD, ELSEWHERE).status_code == 302
    assert page_login(Client(), "tech", PASSWORD, HOME).status_code == 302


def test_the_username_lock_ignores_letter_case(desk, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        page_login(Client(), "DESK" if n % 2 else "Desk", f"wrong{n}")
    assert page_login(Client(), "desk", PASSWORD).status_code == 429


def test_an_address_guessing_many_usernames_is_locked_for_everyone_there(desk, tech, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 6
    codes = [page_login(Client(), f"user{n}", "wrong").status_code for n in range(6)]
    assert codes == [200] * 5 + [429]
    refused = page_login(Client(), "tech", PASSWORD, HOME)
    assert refused.status_code == 429 and "15분" in refused.content.decode()
    assert page_login(Client(), "tech", PASSWORD, ELSEWHERE).status_code == 302


def test_a_success_clears_only_its_own_username_counter(desk, tech, settings):
    limit = settings.AXES_FAILURE_LIMIT
    settings.SIGNIN_FAILURES_PER_ADDRESS = 2 * limit
    fail(limit - 1, "desk")
    assert page_login(Client(), "desk", PASSWORD).status_code == 302
    assert fail(limit - 1, "desk") == [200] * (limit - 1)  # desk's count started again
    # The address has seen 2 * (limit - 1) failures; a success (even by another account)
    # does not reset that, so two more failures reach the address limit.
    assert page_login(Client(), "tech", PASSWORD).status_code == 302
    assert fail(2, "someone") == [200, 429]


def test_one_lock_covers_the_page_the_admin_and_the_token(manager, anon_api, settings):
    fail(settings.AXES_FAILURE_LIMIT, "manager")
    assert admin_login(Client(), "manager", PASSWORD).status_code == 429
    assert token(anon_api, "manager", PASSWORD).status_code == 429


# --- /admin/login/ -------------------------------------------------------------------------------


def test_the_admin_login_locks_a_manager_and_shows_the_wait(manager, settings):
    assert manager.is_staff
    limit = settings.AXES_FAILURE_LIMIT
    codes = [admin_login(Client(), "manager", f"wrong{n}").status_code for n in range(limit)]
    assert codes == [200] * (limit - 1) + [429]
    client = Client()
    refused = admin_login(client, "manager", PASSWORD)
    assert refused.status_code == 429 and not signed_in(client)
    assert int(refused["Retry-After"]) == 15 * 60
    page = refused.content.decode()
    assert "15분 후에 다시 시도하세요" in page and 'name="password"' in page
    assert client.get("/admin/").status_code == 302  # still sent to the login page
    # Another address signs the manager in.
    other = Client()
    assert admin_login(other, "manager", PASSWORD, ELSEWHERE).status_code == 302
    assert other.get("/admin/").status_code == 200


# --- the token endpoint --------------------------------------------------------------------------


def test_the_token_endpoint_locks_with_json_and_retry_after(desk, anon_api, settings):
    limit = settings.AXES_FAILURE_LIMIT
    codes = [token(anon_api, "desk", f"wrong{n}").status_code for n in range(limit - 1)]
    assert codes == [400] * (limit - 1)
    locked = token(anon_api, "desk", "wrong-again")
    assert locked.status_code == 429
    body = locked.json()
    assert body == {
        "code": "throttled",
        "detail": "Too many failed sign-ins; try again in 15 minutes.",
        "retry_after": 900,
    }
    assert locked["Retry-After"] == "900"
    right = token(anon_api, "desk", PASSWORD)
    assert right.status_code == 429 and "token" not in right.json()
    assert token(anon_api, "desk", PASSWORD, ELSEWHERE).status_code == 200


def test_the_token_endpoint_locks_an_address_guessing_many_usernames(desk, anon_api, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 4
    codes = [token(anon_api, f"user{n}", "wrong").status_code for n in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    assert token(anon_api, "desk", PASSWORD).status_code == 429
    assert token(anon_api, "desk", PASSWORD, ELSEWHERE).status_code == 200


def test_a_wrong_password_below_the_limit_is_still_the_plain_400(desk, anon_api):
    wrong = token(anon_api, "desk", "nope")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"


def test_sign_in_from_code_without_a_request_is_neither_refused_nor_counted(desk, settings):
    from django.contrib.auth import authenticate

    for _n in range(settings.AXES_FAILURE_LIMIT + 1):
        assert authenticate(username="desk", password="wrong") is None
    assert authenticate(username="desk", password=PASSWORD) == desk
    assert page_login(Client(), "desk", PASSWORD).status_code == 302


# --- two app processes sharing Redis -------------------------------------------------------------


@pytest.fixture
def _servers_on_the_runs_own_redis_db(monkeypatch):
    """`two_servers` uses Redis db 11, which another test run on this machine may be flushing;
    with REDIS_URL set, this run owns that db (its tests run one at a time), so use it."""
    own = os.environ.get("REDIS_URL", "")
    if own.startswith("redis://") and test_api_public._redis_url() is not None:
        monkeypatch.setattr(test_api_public, "_redis_url", lambda: own)


def test_the_lock_holds_across_two_app_processes_sharing_redis(
    _servers_on_the_runs_own_redis_db,
    two_servers,  # noqa: F811 - requested after the fixture above, which picks its Redis db
):
    (port_a, port_b), _ticket = two_servers
    path = "/api/v1/auth/token/"
    answers = [
        _http_post(port, path, {"username": "desk", "password": f"wrong{n}"})[0]
        for n, port in enumerate([port_a, port_b, port_a, port_b, port_a])
    ]
    assert answers == [400, 400, 400, 400, 429]  # five failures split over two processes
    for port in (port_a, port_b):
        status, body, headers = _http_post(port, path, {"username": "desk", "password": PASSWORD})
        assert status == 429 and body["code"] == "throttled" and body["retry_after"] > 0
        assert int(headers["Retry-After"]) > 0


def test_a_manager_can_unlock_a_username_at_an_address_before_the_cool_off(desk, settings):
    fail(settings.AXES_FAILURE_LIMIT, "desk")
    assert page_login(Client(), "desk", PASSWORD).status_code == 429
    call_command("axes_reset_ip_username", HOME, "desk", stdout=io.StringIO())
    assert page_login(Client(), "desk", PASSWORD).status_code == 302


def test_a_manager_can_unlock_a_username_everywhere_by_its_name_alone(desk, tech, settings):
    fail(settings.AXES_FAILURE_LIMIT, "desk")
    fail(settings.AXES_FAILURE_LIMIT - 1, "tech")
    assert page_login(Client(), "desk", PASSWORD).status_code == 429
    out = io.StringIO()
    call_command("axes_reset_username", "DESK", stdout=out)  # the name, however it is typed
    assert page_login(Client(), "desk", PASSWORD).status_code == 302
    # Another username's count at the same address is untouched: one more failure locks it.
    fail(1, "tech")
    assert page_login(Client(), "tech", PASSWORD).status_code == 429
