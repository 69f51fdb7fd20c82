"""Hostile and clumsy requests get JSON 4xx answers, never a 500 or an HTML page; an
Idempotency-Key makes a retried POST replay its first answer."""

from __future__ import annotations

import pytest

from tests.test_api_support import *  # noqa: F403 - the API fixtures
from tests.test_api_support import INTAKE, V1, client_for, post, transition
from workflows.models import Repair, RepairEvent

pytestmark = pytest.mark.django_db


def raw(client, path, body: bytes, content_type="application/json", **extra):
    return client.generic("POST", V1 + path, body, content_type=content_type, **extra)


def assert_json_error(response, status: int | tuple[int, ...], code: str | None = None):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] and "detail" in body
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "parse_error"),
        (b"\x00\x01\x02", "parse_error"),
        (b'{"symptom": "a\\u0000b"}', "invalid"),
        (b"\xff\xfe\xfd", "parse_error"),
        (b"[" * 100_000 + b"]" * 100_000, None),
        (b"[1, 2, 3]", "invalid"),
        (b'"a string"', "invalid"),
        (b"null", "invalid"),
        (b"1e999", "invalid"),
        (b'{"customer": "not an object", "symptom": 5}', "invalid"),
        (b'{"customer": {"name": ["x"], "phone": {"a": 1}}, "symptom": "s"}', "invalid"),
        (
            b'{"customer": {"name": "a", "phone": "12"}, "symptom": "s", "product_model": "X"}',
            "invalid",
        ),
        (
            b'{"customer": {"name": "a", "phone": "010-1111-2222"}, "symptom": "s",'
            b' "serial_number": "\\u0000\\u0000"}',
            "invalid",
        ),
        (
            b'{"customer": {"name": "a", "phone": "010-1111-2222"}, "symptom": "s",'
            b' "device_in_shop": "maybe"}',
            "invalid",
        ),
    ],
)
def test_garbage_bodies_are_400_json(desk_api, headset, body, code):
    response = raw(desk_api, "/repairs/", body)
    assert_json_error(response, (400, 413), code)
    assert not Repair.objects.exists()


def test_an_oversized_body_is_413_json(desk_api, anon_api, settings):
    body = b'{"symptom": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    assert_json_error(raw(desk_api, "/repairs/", body), 413, "payload_too_large")
    assert_json_error(raw(anon_api, "/public/status/", body), 413, "payload_too_large")


def test_a_form_body_is_415_json(desk_api):
    response = raw(
        desk_api, "/repairs/", b"symptom=x", content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("assign", {"technician": ["tech"]}),
        ("assign", {"technician": "nobody"}),
        ("assign", {}),
        ("set_coverage", {"coverage": "free", "reason": "x"}),
        ("set_coverage", {"coverage": "paid"}),
        ("record_deposit", {"amount": -5}),
        ("record_deposit", {"amount": "lots"}),
        ("invite_for_repair", {"ready_by": "tomorrow-ish"}),
        ("hand_over", {"amount_paid": 1.5}),
        ("cancel", {"reason": "x" * 501}),
        ("check_in_device", {"serial_number": "!!"}),
    ],
)
def test_wrong_typed_transition_fields_are_400_never_500(desk_api, make_repair, name, body):
    ticket = make_repair().ticket_number
    response = transition(desk_api, ticket, name, body)
    assert response.status_code in (400, 409), response.json()
    assert response.json()["code"] in ("invalid", "transition_blocked")


def test_diagnose_with_bad_parts_is_400(tech_api, make_repair, desk, tech):
    from workflows import services as s

    repair = s.repair_assign(repair=make_repair(), actor=desk, technician=tech)
    for parts in ([{"part_number": "NOPE"}], [{"part_number": "x", "quantity": 0}], "abc", [1]):
        response = transition(
            tech_api, repair.ticket_number, "diagnose", {"findings": "x", "parts": parts}
        )
        assert_json_error(response, 400, "invalid")


def test_unknown_api_paths_and_transitions_are_404_json(desk_api, anon_api, make_repair):
    ticket = make_repair().ticket_number
    assert_json_error(desk_api.get("/api/v1/nothing/"), 404, "not_found")
    assert_json_error(anon_api.post("/api/v1/nothing/", {}, format="json"), 404, "not_found")
    assert_json_error(transition(desk_api, ticket, "parts_arrived"), 404, "not_found")
    assert_json_error(transition(desk_api, ticket, "fly"), 404, "not_found")
    assert_json_error(desk_api.get("/api/v1/repairs/GN-0000-NOPE00/"), 404, "not_found")
    assert_json_error(desk_api.get("/api/v1/serials/NOPE12345/"), 404, "serial_not_found")
    assert_json_error(desk_api.get("/api/v1/serials/!/"), 400, "invalid")
    assert_json_error(desk_api.get("/api/v1/repairs/", {"page": 99}), 404, "not_found")
    assert_json_error(desk_api.get("/api/v1/repairs/", {"state": "flying"}), 400, "invalid")
    assert_json_error(desk_api.get("/api/v1/customers/", {"phone": "abc"}), 400, "invalid")
    assert_json_error(desk_api.delete(f"/api/v1/repairs/{ticket}/"), 405, "method_not_allowed")


def test_auth_errors_are_json(anon_api, make_repair):
    ticket = make_repair().ticket_number
    body = assert_json_error(anon_api.get(f"/api/v1/repairs/{ticket}/"), 401, "not_authenticated")
    assert "password" not in str(body)
    bad = client_for(None)
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_json_error(bad.get("/api/v1/repairs/"), 401, "authentication_failed")


def test_a_token_is_issued_for_the_right_password_only(anon_api, desk):
    ok = post(anon_api, "/auth/token/", {"username": "desk", "password": "demo12345"})
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert client.get("/api/v1/repairs/").status_code == 200
    wrong = post(anon_api, "/auth/token/", {"username": "desk", "password": "nope"})
    assert_json_error(wrong, 400, "invalid")
    assert_json_error(post(anon_api, "/auth/token/", ["desk"]), 400, "invalid")


# --- Idempotency-Key -----------------------------------------------------------------------------


def test_an_idempotent_retry_replays_the_first_answer(desk_api, headset):
    first = post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="intake-1")
    retry = post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="intake-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert Repair.objects.count() == 1
    other = post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="intake-2")
    assert other.status_code == 201 and Repair.objects.count() == 2


def test_a_replayed_transition_does_not_act_twice(desk_api, make_repair, tech):
    ticket = make_repair().ticket_number
    key = {"HTTP_IDEMPOTENCY_KEY": "assign-1"}
    first = transition(desk_api, ticket, "assign", {"technician": "tech"}, **key)
    retry = transition(desk_api, ticket, "assign", {"technician": "tech"}, **key)
    assert first.status_code == retry.status_code == 200
    assert (
        RepairEvent.objects.filter(repair__ticket_number=ticket, transition="assign").count() == 1
    )
    # Without the key the second click is an honest 409.
    assert transition(desk_api, ticket, "assign", {"technician": "tech"}).status_code == 409


def test_the_same_key_with_a_different_body_is_422(desk_api, headset):
    post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="k")
    reused = post(desk_api, "/repairs/", {**INTAKE, "symptom": "other"}, HTTP_IDEMPOTENCY_KEY="k")
    assert_json_error(reused, 422, "idempotency_key_reused")
    assert Repair.objects.count() == 1


def test_keys_belong_to_their_user(desk_api, manager_api, headset):
    post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="shared")
    mine = post(manager_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="shared")
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine
    assert Repair.objects.count() == 2


def test_an_error_answer_is_replayed_too(desk_api, make_repair):
    ticket = make_repair().ticket_number
    key = {"HTTP_IDEMPOTENCY_KEY": "blocked"}
    first = transition(desk_api, ticket, "approve", {}, **key)
    retry = transition(desk_api, ticket, "approve", {}, **key)
    assert first.status_code == retry.status_code == 409 and first.json() == retry.json()


def test_a_malformed_key_is_400(desk_api, headset):
    response = post(desk_api, "/repairs/", INTAKE, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert_json_error(response, 400, "invalid")
