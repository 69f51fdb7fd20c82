"""No 500 on any input.

A NUL byte reaching PostgreSQL in a query is a 500 (text columns cannot hold it), so
core.middleware refuses control characters in paths, query strings and form fields with a 400
before any view runs. These tests walk every URL pattern the project has, put a NUL into each
path parameter and each known filter, post NUL in every page form's fields, and send NUL in
every string field of the API's JSON bodies: every answer is a 4xx, never a 500, and nothing is
written. They run on SQLite and on PostgreSQL (.ci/run); on PostgreSQL a NUL that slipped
through would be a 500, which `test_postgres_cannot_take_a_nul_so_these_tests_mean_something`
demonstrates.

The error pages live here too: 400, 403, 404, 500 and the CSRF failure are styled, translated
pages, and JSON under /api/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.db import DataError, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from parts.models import PartsOrder, Reservation, Stock
from service_center.models import Customer, Device
from tests.conftest import intake_form, requires_postgres, stock
from workflows import registry
from workflows import services as s
from workflows.models import Notification, Promise, Repair, RepairEvent

NUL = "GN%00X"  # as sent on the wire; the server decodes it to "GN\x00X"
# Filters the pages and endpoints read from the query string (the admin's are covered by the
# NUL in a key and the escape sequence: the middleware looks at every key and value alike).
FILTERS = [
    "q",
    "state",
    "technician",
    "overdue",
    "product_model",
    "phone",
    "page",
    "variant",
    "serial",
    "ticket",
]
# Odd but printable values: these pass the middleware and reach the views themselves.
ODD_QUERY = {
    "q": "%25'\"\\",
    "state": "no_such_state",
    "technician": "nobody",
    "overdue": "maybe",
    "product_model": "X" * 3000,
    "phone": "010-123",
    "page": "99999999999999999999999",
    "variant": "poster",
    "serial": "%FF%FE",
    "ticket": "GN-" + "Z" * 500,
    "stock": "-1",
    "o": "99.-7",
    "p": "abc",
    "next": "//evil.example/",
}
ODD_PATH = {"int": "99999999999999999999999", "str": "%FF%FE" + "Z" * 300}


# --- the URL patterns, walked ------------------------------------------------------------------


def _walk(patterns, prefix=()):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, (*prefix, p.pattern))
        elif isinstance(p, URLPattern):
            yield (*prefix, p.pattern), p


ROUTES = list(_walk(get_resolver().url_patterns))
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


def _route_id(route) -> str:
    return "/" + "".join(str(p) for p in route[0])


def _build(segments, value) -> str:
    """The path of a pattern, each parameter given by value(name, converter_or_regex)."""
    out = []
    for pattern in segments:
        text = str(pattern)
        if isinstance(pattern, RegexPattern):
            text = text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
            text = _GROUP.sub(lambda m: value(m["name"], "re:" + m["body"]), text)
        else:
            text = _PARAM.sub(lambda m: value(m["name"], m["conv"] or "str"), text)
        out.append(text)
    return "/" + "".join(out)


def _params(segments) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    _build(segments, lambda name, conv: found.append((name, conv)) or "")
    return found


# --- the world: one repair of each interesting kind, a promise, a parts order ----------------


@pytest.fixture
def world(make_repair, desk, tech, manager, spring, battery, center, in_warranty, diagnose):
    stock(center, spring, 0)  # diagnosing with the spring orders it
    stock(center, battery, 2)
    repair = make_repair(serial_number=in_warranty.serial_number)
    diagnosing = make_repair()
    s.repair_assign(repair=diagnosing, actor=desk, technician=tech)
    repair = diagnose(
        repair, "스프링 교체", parts=[{"part_number": spring.part_number}], labor_fee=0
    )
    promise = s.repair_record_promise(
        repair=repair.pk,
        actor=desk,
        kind="callback",
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    order = PartsOrder.objects.order_by("pk").first()
    assert order is not None, "diagnosing a part with no stock orders it"
    return {
        "repair": repair,
        "diagnosing": diagnosing,
        "promise": promise,
        "order": order,
        "real": {
            "ticket": repair.ticket_number,
            "ticket_number": repair.ticket_number,
            "token": repair.status_token,
            "name": "assign",
            "promise_id": str(promise.pk),
            "order_id": str(order.pk),
            "serial": in_warranty.serial_number,
            "object_id": str(repair.pk),
            "url": "no/such/admin/page/",
        },
    }


def _real(world, name: str, conv: str) -> str:
    if conv.startswith("re:"):
        body = conv[3:]
        if re.fullmatch(r"\w+(\|\w+)*", body):
            return body.split("|")[0]
    return world["real"].get(name, "1")


def snapshot() -> dict:
    rows = {
        m.__name__: sorted(m.objects.values_list("pk", flat=True))
        for m in (Repair, Customer, Device, RepairEvent, Notification, Promise, PartsOrder)
    }
    rows["repairs"] = sorted(
        Repair.objects.values_list(
            "pk", "state", "coverage", "labor_fee", "device_in_shop", "technician_id", "symptom"
        )
    )
    rows["reservations"] = sorted(Reservation.objects.values_list("pk", "status", "quantity"))
    rows["stock"] = sorted(Stock.objects.values_list("pk", "on_hand", "reserved"))
    rows["promises"] = sorted(Promise.objects.values_list("pk", "fulfilled_at"))
    rows["users"] = sorted(get_user_model().objects.values_list("pk", "username"))
    return rows


@pytest.fixture
def personas(manager, desk):
    clients = {}
    for name, user in (("manager", manager), ("desk", desk), ("anonymous", None)):
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        clients[name] = client
    return clients


def _build_with_nul_at(segments, index: int, world) -> str:
    seen = []

    def value(name: str, conv: str) -> str:
        seen.append(name)
        return NUL if len(seen) - 1 == index else _real(world, name, conv)

    return _build(segments, value)


def _refused(response, url: str, who: str = "") -> None:
    assert response.status_code == 400, (who, url, response.status_code)
    if url.startswith("/api/"):
        assert response.json()["code"] == "bad_request", (who, url)
    else:
        assert "errorpage" in response.content.decode(), (who, url)


# Parameters whose real value is a row of the world; the others do with "1" or a fixed word.
NEEDS_WORLD = {"ticket", "ticket_number", "token", "promise_id", "order_id", "serial"}
NO_WORLD = {"real": {"object_id": "1", "url": "no/such/admin/page/"}}


# --- GET: every pattern, a NUL in each path parameter and each filter ---------------------------


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_every_url_pattern_answers_a_nul_with_400_and_odd_input_without_a_500(
    route, request, personas
):
    segments, pattern = route
    params = _params(segments)
    world = (
        request.getfixturevalue("world")
        if {name for name, _conv in params} & NEEDS_WORLD
        else NO_WORLD
    )
    real = _build(segments, lambda name, conv: _real(world, name, conv))
    assert resolve(unquote(real)).func == pattern.callback, f"{real} is not {_route_id(route)}"
    nul_paths = []
    for index, (_name, conv) in enumerate(params):
        if conv not in ("str", "path", "slug", "re:.*"):
            continue  # an int or a fixed list cannot carry a NUL; the other parameters can
        nul_path = _build_with_nul_at(segments, index, world)
        # Without the middleware this NUL would reach the very view the pattern names.
        assert resolve(unquote(nul_path)).func == pattern.callback, nul_path
        nul_paths.append(nul_path)
    nul_queries = [f"{real}?{key}={NUL}" for key in FILTERS]
    nul_queries += [f"{real}?%00=1", f"{real}?o=%1B%5B2J", f"{real}?next=a%0D%0ALocation:x"]
    # Odd but printable: these pass the middleware and reach the views themselves.
    odd_path = _build(
        segments,
        lambda name, conv: (
            ODD_PATH["int"]
            if conv == "int"
            else _real(world, name, conv)
            if conv.startswith("re:") and conv != "re:.*"
            else ODD_PATH["str"]
        ),
    )
    odd_urls = {odd_path, f"{real}?" + "&".join(f"{k}={v}" for k, v in ODD_QUERY.items())}
    before = snapshot()
    for turn, (who, client) in enumerate(personas.items()):
        # The NUL is refused before anyone is signed in, so the personas take the filters in
        # turns (each filter once per pattern); the NUL paths and the odd input go to all three.
        for url in nul_paths + nul_queries[turn :: len(personas)]:
            _refused(client.get(url), url, who)
        post_to = (nul_paths or nul_queries)[0]
        _refused(client.post(post_to, {"x": "1"}), post_to, f"{who} POST")
        for url in odd_urls:
            response = client.get(url)
            assert response.status_code < 500, (who, url, response.status_code)
    assert snapshot() == before


# --- POST: every page form, a NUL in each field -------------------------------------------------


def _page_forms(world, spring):
    """(persona, url, a valid-looking form) for every form the pages post."""
    t = world["repair"].ticket_number
    d = world["diagnosing"].ticket_number
    token = world["repair"].status_token
    promise = world["promise"].pk
    intake = {
        "customer_name": "김민지",
        "customer_phone": "010-2345-6789",
        "customer_email": "minji@example.com",
        "customer_address": "서울",
        "serial_number": "HBS1100K7Q2",
        "product_model": "HBS-1100",
        "symptom": "소리가 안 나요",
        "accessories": "케이블",
        "intake_channel": "walk_in",
        "device_in_shop": "on",
        "return_method": "pickup",
        "courier_address": "",
    }
    forms = [
        ("desk", "/desk/intake/", intake),
        ("desk", "/desk/lookup/customer/", {"phone": "010-2345-6789"}),
        ("desk", f"/desk/repairs/{t}/note/", {"text": "메모", "customer_visible": "on"}),
        ("desk", f"/desk/repairs/{t}/call/", {"text": "통화", "direction": "outgoing"}),
        (
            "desk",
            f"/desk/repairs/{t}/promise/",
            {"kind": "callback", "due_at": "2099-01-01T10:00", "note": "내일"},
        ),
        ("desk", f"/desk/repairs/{t}/promises/{promise}/kept/", {"next": "/desk/calls/"}),
        ("tech", f"/tech/repairs/{t}/note/", {"text": "메모"}),
        (
            "tech",
            f"/tech/repairs/{d}/transitions/diagnose/",
            {"findings": "스프링", f"qty_{spring.part_number}": "1", "labor_fee": "0"},
        ),
        ("desk", f"/desk/parts-orders/{world['order'].pk}/receive/", {"note": "도착"}),
        ("anonymous", "/status/", {"ticket_number": t, "phone_last4": "6789"}),
        ("anonymous", f"/status/t/{token}/approve/", {"confirm": "1"}),
        ("anonymous", f"/status/t/{token}/decline/", {"reason": "비싸요"}),
        (
            "anonymous",
            f"/status/t/{token}/courier/",
            {"recipient_name": "김민지", "address": "서울 강남구", "phone": "010-2345-6789"},
        ),
        ("anonymous", "/login/", {"username": "desk", "password": "demo12345", "next": "/"}),
        ("anonymous", "/admin/login/", {"username": "manager", "password": "demo12345"}),
        ("anonymous", "/i18n/setlang/", {"language": "en", "next": "/status/"}),
    ]
    for name in registry.STAFF_TRANSITIONS:
        fields = {f: "1" for f in registry.TRANSITIONS[name].inputs} or {"confirm": "1"}
        forms.append(("desk", f"/desk/repairs/{t}/transitions/{name}/", fields))
    return forms


def test_a_nul_or_control_character_in_any_page_form_field_is_a_400_and_changes_nothing(
    world, personas, spring, tech
):
    tech_client = Client(raise_request_exception=False)
    tech_client.force_login(tech)
    clients = {**personas, "tech": tech_client}
    before = snapshot()
    for persona, url, form in _page_forms(world, spring):
        client = clients[persona]
        for field in form:
            for bad in ("\x00", "\x01", "\x1b", "\x7f"):
                data = {**form, field: f"{form[field]}{bad}x"}
                _refused(client.post(url, data), f"{persona} {url} {field}={bad!r}")
        # A NUL in a field's name, and in a multipart body, too.
        _refused(client.post(url, {**form, "a\x00b": "1"}), f"{persona} {url} name")
        multipart = client.post(url, {**form, next(iter(form)): "\x00"})  # test client: multipart
        _refused(multipart, f"{persona} {url} multipart")
    assert snapshot() == before


def test_tabs_and_new_lines_in_a_text_area_are_ordinary_input(client, desk, headset):
    client.force_login(desk)
    response = client.post("/desk/intake/", intake_form(symptom="첫째 줄\r\n둘째 줄\t탭"))
    assert response.status_code == 302
    assert Repair.objects.get().symptom.startswith("첫째 줄")


# --- the API: NUL inside JSON strings is the serializers' to refuse ------------------------------


def _nul_in_each_string(body: dict, prefix: str = ""):
    """(path, body with a NUL in that one string) for every string leaf of body."""
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, str):
            yield name, {**body, key: value + "\x00"}
        elif isinstance(value, dict):
            for sub, inner in _nul_in_each_string(value, f"{name}."):
                yield sub, {**body, key: inner}
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for sub, inner in _nul_in_each_string(value[0], f"{name}.0."):
                yield sub, {**body, key: [inner, *value[1:]]}


def _api(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_a_nul_in_any_string_of_the_intake_json_is_a_400_and_creates_nothing(world, manager):
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    body = {
        "customer": {
            "name": "김민지",
            "phone": "010-2345-6789",
            "email": "m@example.com",
            "address": "서울",
        },
        "serial_number": "HBS1100K7Q2",
        "product_model": "HBS-1100",
        "symptom": "소리가 안 나요",
        "accessories": "케이블",
        "intake_channel": "walk_in",
        "device_in_shop": True,
        "return_method": "courier",
        "courier_address": "서울 서초구",
    }
    before = snapshot()
    fields = list(_nul_in_each_string(body))
    assert len(fields) == 11
    for name, bad in fields:
        response = _api(client, "/api/v1/repairs/", bad)
        assert response.status_code == 400, (name, response.status_code, response.content)
        assert response.json()["code"] == "invalid", name
    assert snapshot() == before
    assert _api(client, "/api/v1/repairs/", body).status_code == 201  # the same body, clean


def test_a_nul_in_any_string_of_any_transition_or_timeline_json_is_a_400(world, manager, tech):
    clients = {}
    for user in (manager, tech):
        clients[user.username] = Client(raise_request_exception=False)
        clients[user.username].force_login(user)
    t = world["repair"].ticket_number
    bodies = {
        f"/api/v1/repairs/{t}/transitions/{name}/": {f: "x" for f in tr.inputs}
        for name, tr in registry.TRANSITIONS.items()
        if tr.inputs and name in registry.STAFF_TRANSITIONS
    }
    bodies[f"/api/v1/repairs/{t}/transitions/diagnose/"]["parts"] = [
        {"part_number": "CLIP-SPRING-01", "quantity": 1}
    ]
    bodies[f"/api/v1/repairs/{t}/notes/"] = {"text": "메모"}
    bodies[f"/api/v1/repairs/{t}/calls/"] = {"text": "통화", "direction": "outgoing"}
    bodies[f"/api/v1/repairs/{t}/promises/"] = {
        "kind": "callback",
        "due_at": "2099-01-01T10:00:00+09:00",
        "note": "x",
    }
    bodies["/api/v1/public/status/"] = {"ticket_number": t, "phone_last4": "6789"}
    bodies["/api/v1/public/courier-return/"] = {
        "ticket_number": t,
        "phone_last4": "6789",
        "recipient_name": "김민지",
        "address": "서울",
        "phone": "010-2345-6789",
    }
    before = snapshot()
    checked = 0
    lenient = []
    for url, body in bodies.items():
        for name, bad in _nul_in_each_string(body):
            if name == "due_at":
                lenient.append((url, bad))
                continue
            answers = [_api(c, url, bad) for c in clients.values()]
            # Whoever may run it gets the 400 for the field; the other may get its 403 first.
            codes = sorted(a.status_code for a in answers)
            assert 400 in codes and max(codes) < 500, (url, name, codes)
            refused = next(a for a in answers if a.status_code == 400)
            assert refused.json()["code"] in ("invalid", "bad_request"), (url, name)
            checked += 1
    assert checked >= 20
    assert snapshot() == before
    # CPython's datetime.fromisoformat stops at a NUL, so DRF reads "2099-01-01T10:00+09:00\x00"
    # as that time: accepted, and no NUL is stored (a datetime column cannot hold one).
    for url, bad in lenient:
        response = _api(clients["manager"], url, bad)
        assert response.status_code == 201, response.content
        assert Promise.objects.get(pk=response.json()["id"]).due_at.year == 2099


def test_form_bodies_sent_to_the_api_are_still_refused_as_unsupported_media(world, manager):
    """The middleware leaves /api/ bodies to DRF: JSON only; a form is a 415, not a crash."""
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    for data in ({"symptom": "x"}, {"symptom": "x\x00"}):
        multipart = client.post("/api/v1/repairs/", data)
        assert multipart.status_code == 415, multipart.content
        urlencoded = client.post(
            "/api/v1/repairs/",
            "symptom=x%00",
            content_type="application/x-www-form-urlencoded",
        )
        assert urlencoded.status_code == 415, urlencoded.content


def test_csrf_checked_posts_still_work_after_the_middleware_read_the_form(world, desk):
    """The middleware reads request.POST first; Django's and DRF's CSRF checks read it again."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk)
    client.get("/desk/intake/")
    token = client.cookies["csrftoken"].value
    t = world["repair"].ticket_number
    note = client.post(f"/desk/repairs/{t}/note/", {"text": "메모", "csrfmiddlewaretoken": token})
    assert note.status_code == 302
    assert RepairEvent.objects.filter(text="메모").exists()
    api = client.post(
        f"/api/v1/repairs/{t}/notes/",
        json.dumps({"text": "API 메모"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert api.status_code == 201, api.content
    without = client.post(
        f"/api/v1/repairs/{t}/notes/", json.dumps({"text": "x"}), content_type="application/json"
    )
    assert without.status_code == 403 and without.json()["code"] == "permission_denied"
    # A form body without the token: DRF's CSRF check parses it first, and a JSON-only view
    # refuses the media type. Either way a 4xx, and nothing written.
    form = client.post(f"/api/v1/repairs/{t}/notes/", {"text": "양식"})
    assert form.status_code == 415 and not RepairEvent.objects.filter(text="양식").exists()


def test_a_cookie_with_a_control_character_is_ignored_not_a_500(world, desk):
    client = Client(raise_request_exception=False)
    client.force_login(desk)
    # Sent as sessionid="\000\000..." (SimpleCookie quotes it); Django unquotes the octal
    # escapes, so the session key arrives as eight NUL characters.
    client.cookies["sessionid"] = "\x00" * 8
    assert "\\000" in client.cookies.output()
    response = client.get("/desk/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_control_character_in_a_header_is_a_400(world, desk):
    client = Client(raise_request_exception=False)
    # The token is looked up in the database: on PostgreSQL this was a 500.
    response = client.get("/api/v1/repairs/", HTTP_AUTHORIZATION="Token abc\x00def")
    _refused(response, "/api/v1/repairs/")
    _refused(client.get("/status/", HTTP_USER_AGENT="x\x1by"), "/status/")
    # A tab is legal inside a header value.
    assert client.get("/status/", HTTP_USER_AGENT="x\ty").status_code == 200


@requires_postgres
@pytest.mark.django_db
def test_postgres_cannot_take_a_nul_so_these_tests_mean_something():
    # What every request above would have hit without the middleware: a DataError, i.e. a 500.
    with pytest.raises(DataError), transaction.atomic():
        Repair.objects.filter(ticket_number="GN\x00X").exists()


# --- the error pages ---------------------------------------------------------------------------


def _is_styled_page(response) -> str:
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert "errorpage" in html and 'class="brand"' in html, html[:300]
    return html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title"), [("ko", "페이지를 찾을 수 없습니다"), ("en", "Page not found")]
)
def test_an_unknown_page_is_the_styled_404_in_the_visitors_language(client, language, title):
    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    html = _is_styled_page(response)
    assert f"<h1>{title}</h1>" in html and "/static/css/app.css" in html


@pytest.mark.django_db
def test_an_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title"), [("ko", "잘못된 요청"), ("en", "Bad request")])
def test_a_nul_gets_the_styled_400_in_the_visitors_language(client, language, title):
    response = client.get("/desk/?q=%00", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    html = _is_styled_page(response)
    assert f"<h1>{title}</h1>" in html and "NUL" in html
    assert response["Content-Language"] == language


def test_a_technician_on_a_desk_page_gets_the_styled_403(client, tech):
    client.force_login(tech)
    response = client.get("/desk/intake/", HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 403
    html = _is_styled_page(response)
    assert "<h1>접근할 수 없습니다</h1>" in html
    assert "역할" in html  # the reason staff_area gave, translated
    api = client.get("/api/v1/stock/adjust/")
    assert api.status_code in (403, 405) and api["Content-Type"] == "application/json"


def test_an_expired_form_gets_the_styled_403_not_djangos_csrf_page(desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk)
    response = client.post("/desk/intake/", {"customer_name": "x"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 403
    html = _is_styled_page(response)
    assert "<h1>양식이 만료되었습니다</h1>" in html and "CSRF" not in html


# A URLconf with two views that crash, for the 500 pages (handlers as in the real one).
def _crash(request):
    raise RuntimeError("boom")


from service_center import urls as _real_urls  # noqa: E402

urlpatterns = [
    path("crash/", _crash),
    path("api/v1/crash/", _crash),
    *_real_urls.urlpatterns,
]
handler400 = _real_urls.handler400
handler403 = _real_urls.handler403
handler404 = _real_urls.handler404
handler500 = _real_urls.handler500


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("language", "title"), [("ko", "문제가 발생했습니다"), ("en", "Something went wrong")]
)
def test_a_crash_on_a_page_is_the_styled_500_and_json_under_the_api(language, title):
    client = Client(raise_request_exception=False)
    response = client.get("/crash/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 500
    html = response.content.decode()
    assert f"<h1>{title}</h1>" in html and "errorpage" in html
    assert "boom" not in html and "Traceback" not in html
    api = client.get("/api/v1/crash/")
    assert api.status_code == 500
    assert api.json() == {"code": "server_error", "detail": "Something went wrong on our side."}
