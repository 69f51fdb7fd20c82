"""The public status lookup: same 404 for every wrong answer, throttles per IP and per ticket,
locks that hold across app processes sharing Redis, no-store, the token link, customer actions."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from json import dumps, loads
from pathlib import Path

import pytest

from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import get, post, transition

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def lookup(client, ticket, last4="6789", **extra):
    return post(client, "/public/status/", {"ticket_number": ticket, "phone_last4": last4}, **extra)


def test_unknown_ticket_and_wrong_phone_give_the_identical_answer(anon_api, intake):
    ticket = intake()
    wrong_phone = lookup(anon_api, ticket, "0000")
    unknown = lookup(anon_api, "GN-2611-AAAAAA", "6789")
    malformed_ticket = lookup(anon_api, "nothing-like-a-ticket!", "6789")
    wrong_token = post(anon_api, "/public/status/", {"token": "x" * 22})
    answers = {r.status_code for r in (wrong_phone, unknown, malformed_ticket, wrong_token)}
    assert answers == {404}
    assert wrong_phone.content == unknown.content == malformed_ticket.content == wrong_token.content
    assert wrong_phone["Cache-Control"] == unknown["Cache-Control"] == "no-store"
    assert sorted(wrong_phone.headers) == sorted(unknown.headers)


def test_the_right_ticket_and_digits_show_the_status_with_no_store(anon_api, intake):
    ticket = intake()
    response = lookup(anon_api, f" {ticket.lower()} ")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["ticket_number"] == ticket and body["phone"] == "010-****-6789"
    assert "2345" not in response.content.decode()


def test_the_claim_tickets_token_opens_the_status_without_digits(anon_api, intake, desk_api):
    ticket = intake()
    token = get(desk_api, f"/repairs/{ticket}/").json()["status_token"]
    response = post(anon_api, "/public/status/", {"token": token})
    assert response.status_code == 200 and response.json()["ticket_number"] == ticket


def test_a_ticket_locks_after_wrong_guesses_whatever_the_ip(anon_api, intake, settings):
    ticket = intake()
    limit = settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET
    for n in range(limit):
        ip = f"203.0.113.{n + 1}"
        assert lookup(anon_api, ticket, f"{n:04d}", REMOTE_ADDR=ip).status_code == 404
    locked = lookup(anon_api, ticket, "6789", REMOTE_ADDR="198.51.100.7")  # even the right digits
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    assert 3000 < int(locked["Retry-After"]) <= 3600
    assert locked["Cache-Control"] == "no-store"
    # Another ticket is not affected.
    other = intake(customer={"name": "박", "phone": "010-5555-4444"})
    assert lookup(anon_api, other, "4444", REMOTE_ADDR="198.51.100.7").status_code == 200


def test_right_answers_do_not_count_towards_the_lock(anon_api, intake, settings):
    ticket = intake()
    for _ in range(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET + 3):
        assert lookup(anon_api, ticket, REMOTE_ADDR="192.0.2.1").status_code == 200


def test_an_unknown_ticket_locks_the_same_way(anon_api, settings):
    for n in range(settings.PUBLIC_LOOKUP_FAILURES_PER_TICKET):
        assert lookup(anon_api, "GN-2611-QQQQQQ", f"{n:04d}").status_code == 404
    assert lookup(anon_api, "GN-2611-QQQQQQ", "9999").status_code == 429


def test_the_per_ip_limit_throttles_with_retry_after(anon_api, settings):
    settings.PUBLIC_LOOKUP_RATE_PER_IP = 5
    answers = [lookup(anon_api, f"GN-2611-B{n:05d}").status_code for n in range(8)]
    assert answers == [404] * 5 + [429] * 3
    response = lookup(anon_api, "GN-2611-C00000")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert lookup(anon_api, "GN-2611-C00000", REMOTE_ADDR="192.0.2.99").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ticket_number": "GN-2611-AAAAAA"},
        {"ticket_number": "GN-2611-AAAAAA", "phone_last4": "12a4"},
        {"ticket_number": ["GN"], "phone_last4": "1234"},
        {"ticket_number": "GN-2611-AAAAAA", "phone_last4": 12345},
        ["GN-2611-AAAAAA", "1234"],
        "GN-2611-AAAAAA",
    ],
)
def test_malformed_lookups_are_400_json(anon_api, body):
    response = post(anon_api, "/public/status/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response["Cache-Control"] == "no-store"


def test_phone_digits_never_travel_in_a_query_string(anon_api, intake):
    ticket = intake()
    response = anon_api.get(f"/api/v1/public/status/?ticket_number={ticket}&phone_last4=6789")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_the_customer_approves_declines_and_asks_for_courier_online(
    anon_api, intake, desk_api, tech_api, tech
):
    tickets = [intake() for _ in range(2)]
    for ticket in tickets:
        transition(desk_api, ticket, "assign", {"technician": "tech"})
        transition(desk_api, ticket, "set_coverage", {"coverage": "paid", "reason": "agreed"})
        transition(tech_api, ticket, "diagnose", {"findings": "x", "labor_fee": 1000})
    approved = post(
        anon_api, "/public/approve/", {"ticket_number": tickets[0], "phone_last4": "6789"}
    )
    assert approved.status_code == 200 and approved.json()["state"] == "ready_to_repair"
    again = post(anon_api, "/public/approve/", {"ticket_number": tickets[0], "phone_last4": "6789"})
    assert again.status_code == 409 and again.json()["code"] == "transition_blocked"
    declined = post(
        anon_api,
        "/public/decline/",
        {"ticket_number": tickets[1], "phone_last4": "6789", "reason": "too dear"},
    )
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    wrong = post(anon_api, "/public/approve/", {"ticket_number": tickets[1], "phone_last4": "1111"})
    assert wrong.status_code == 404 and wrong.content == lookup(anon_api, "GN-2611-NONE22").content
    courier = post(
        anon_api,
        "/public/courier-return/",
        {
            "ticket_number": tickets[1],
            "phone_last4": "6789",
            "recipient_name": "김민지",
            "address": "서울 서초구 1",
        },
    )
    assert courier.status_code == 200 and courier.json()["return_method"] == "courier"
    assert courier.json()["next_step"]["code"] == "none"
    missing = post(
        anon_api,
        "/public/courier-return/",
        {"ticket_number": tickets[1], "phone_last4": "6789", "recipient_name": "김민지"},
    )
    assert missing.status_code == 400 and "address" in missing.json()["errors"]


# --- two app processes sharing Redis -------------------------------------------------------------


def _redis_url() -> str | None:
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        print(f"skipping: Redis unreachable at 127.0.0.1:6379 ({exc.__class__.__name__})")
        return None
    return "redis://127.0.0.1:6379/11"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http_post(port: int, path: str, body: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, loads(error.read()), dict(error.headers)


SEED = """
from service_center.models import ServiceCenter, ProductModel
from service_center.services import staff_create
from workflows import services as s
center, _ = ServiceCenter.objects.get_or_create(code="GN", defaults={"name": "GN"})
ProductModel.objects.get_or_create(code="HBS-1100", defaults={"name": "headset"})
desk = staff_create(username="desk", role="front_desk", center_code="GN", password="demo12345")
r = s.repair_intake(center=center, actor=desk, customer={"name": "K", "phone": "010-2345-6789"},
                    symptom="x", product_model="HBS-1100")
print(r.ticket_number)
"""


@pytest.fixture
def two_servers():
    """Two independent app processes (own PIDs, own cache clients) on one SQLite file and one
    Redis database. Skips, saying why, when Redis is not there."""
    redis_url = _redis_url()
    if redis_url is None:
        # CI runs beside Redis (.ci/run starts it): there a missing Redis is a failure, not a
        # reason to pass without testing the shared throttle.
        if os.environ.get("CI"):
            pytest.fail("Redis unreachable at 127.0.0.1:6379, and CI needs it for this test")
        pytest.skip("Redis unreachable at 127.0.0.1:6379 (start redis-server to run this test)")
    workdir = Path(tempfile.mkdtemp(prefix="two-servers-"))
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL",)}
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=f"two-{uuid.uuid4().hex[:8]}",
        PUBLIC_LOOKUP_FAILURES_PER_TICKET="4",
        PUBLIC_LOOKUP_RATE_PER_IP="1000",
        DJANGO_SETTINGS_MODULE="service_center.settings",
    )
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [python, "manage.py", "shell", "-c", SEED],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    ticket = seeded.stdout.strip().splitlines()[-1]
    ports, procs = [_free_port(), _free_port()], []
    try:
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [
                        python,
                        "manage.py",
                        "runserver",
                        f"127.0.0.1:{port}",
                        "--noreload",
                        "--skip-checks",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        yield ports, ticket
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_ticket_lock_holds_across_two_app_processes_sharing_redis(two_servers):
    (port_a, port_b), ticket = two_servers
    path = "/api/v1/public/status/"
    assert _http_post(port_a, path, {"ticket_number": ticket, "phone_last4": "6789"})[0] == 200
    answers = [
        _http_post(port, path, {"ticket_number": ticket, "phone_last4": f"{n:04d}"})[0]
        for n, port in enumerate([port_a, port_b, port_a, port_b])
    ]
    assert answers == [404, 404, 404, 404]  # four wrong guesses, split over two processes
    for port in (port_a, port_b):
        status, body, headers = _http_post(
            port, path, {"ticket_number": ticket, "phone_last4": "6789"}
        )
        assert status == 429 and body["code"] == "throttled"
        assert int(headers["Retry-After"]) > 0 and headers["Cache-Control"] == "no-store"
