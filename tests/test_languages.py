"""One translation system: every page, the claim ticket and the admin speak one language.

The world here is built with English names (center, customer, model, parts, symptom, notes), so
any Hangul on an English page is a leak of the software's own wording; on a Korean page, none of
the English phrases the system used to store as prose may appear. Pages are found by walking the
URL patterns, not from a hand list.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from core.roles import CUSTOMER_ACTOR
from parts import services as parts_services
from parts.models import PartsOrderLine
from tests.conftest import stock
from tests.factories import (
    CenterFactory,
    CustomerFactory,
    DeviceFactory,
    PartFactory,
    ProductModelFactory,
)
from workflows import services as s
from workflows.choices import Coverage, PromiseKind
from workflows.models import Promise, Repair, RepairEvent
from workflows.tickets import render_claim_ticket

HANGUL = re.compile(r"[\uac00-\ud7a3]+")
# What the system used to store in English and show on Korean pages.
ENGLISH_PHRASES = re.compile(
    r"warranty ended|in warranty|Serial|warehouse|\bcustomer\b|not found|parallel import"
    r"|coverage to be confirmed|Device received|Repair started|Promised:|won\b"
    # a raw code (ready_to_repair, walk_in) shown as stored; not a piece of a link or token
    r"|(?<![\w/.-])(?-i:[a-z]+_[a-z_]+)(?![\w/.…-])",
    re.IGNORECASE,
)


# --- the visible text of a page ------------------------------------------------------------------


class _Visible(HTMLParser):
    """Text nodes and the attributes people read (placeholder, title, aria-label, alt, button
    values), leaving out scripts, styles and elements marked in another language (the language
    switch names each language in itself)."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area", "base"}
    READ = ("placeholder", "title", "aria-label", "alt")

    def __init__(self, language: str):
        super().__init__(convert_charrefs=True)
        self.language, self.parts, self.skip = language, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        foreign = attrs.get("lang") not in (None, "", self.language) and tag != "html"
        hidden = tag in ("script", "style") or foreign
        if tag not in self.VOID:
            self.skip.append(hidden)
        if not hidden and not any(self.skip):
            self.parts += [attrs[a] for a in self.READ if attrs.get(a)]
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.skip:
            self.skip.pop()

    def handle_data(self, data):
        if not any(self.skip) and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, language: str) -> str:
    parser = _Visible(language)
    parser.feed(html)
    return "\n".join(parser.parts)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def leaks(text: str, language: str) -> list[str]:
    if language == "en":
        return sorted(set(HANGUL.findall(text)))
    return sorted({m.group(0) for m in ENGLISH_PHRASES.finditer(text)})


# --- a world with English names ----------------------------------------------------------------


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    """Repairs in many states, each with its timeline, taken through the services."""
    from service_center.services import staff_create

    center = CenterFactory(
        code="GN", name="Gangnam Service Center", address="123 Teheran-ro", phone="02-555-0100"
    )
    CenterFactory(code="SC", name="Seocho Service Center")  # where the stock page sends units
    people = {
        role: staff_create(username=name, role=role, center_code="GN", password="demo12345")
        for name, role in (("desk", "front_desk"), ("tech", "technician"), ("boss", "manager"))
    }
    desk, tech = people["front_desk"], people["technician"]
    headset = ProductModelFactory(code="HS-100", name="Bluetooth headset HS-100")
    spring = PartFactory(
        part_number="CLIP-1", name="Clip spring", unit_price=100, compatible_models=[headset]
    )
    stock(center, spring, 1)
    fresh = DeviceFactory(serial_number="HS100NEW1", product_model=headset)
    old = DeviceFactory(
        serial_number="HS100OLD1",
        product_model=headset,
        purchase_date=timezone.localdate() - dt.timedelta(days=800),
    )
    CustomerFactory(center=center, name="Minji Kim", phone="010-2345-6789")

    def intake(language, **fields):
        data = {
            "customer": {"name": "Minji Kim", "phone": "010-2345-6789", "address": "45 Banpo-ro"},
            "symptom": "The clip spring fell off",
            "product_model": headset.code,
            "intake_channel": "walk_in",
            "device_in_shop": True,
            "return_method": "pickup",
            "language": language,
        }
        data.update(fields)
        return s.repair_intake(center=center, actor=desk, **data)

    def build(language):
        repairs = {}
        # Just in, serial unknown: coverage to be confirmed.
        repairs["received"] = intake(language, intake_channel="phone", device_in_shop=False)
        # Expired serial, diagnosed with a part on order, a call, a note, promises, the ETA.
        r = intake(language, serial_number=old.serial_number)
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(
            repair=r,
            actor=tech,
            findings="Spring worn out",
            parts=[{"part_number": spring.part_number, "quantity": 2}],
            labor_fee=5000,
        )
        s.repair_record_call(repair=r, actor=desk, text="Told her the price")
        s.repair_add_note(repair=r, actor=desk, text="Handle with care", customer_visible=True)
        due = timezone.now() + dt.timedelta(days=1)
        s.repair_record_promise(repair=r, actor=desk, kind=PromiseKind.CALLBACK, due_at=due)
        s.repair_record_promise(
            repair=r, actor=desk, kind=PromiseKind.READY_BY, due_at=due, note="by Friday"
        )
        order = PartsOrderLine.objects.filter(repair=r).first().order_id
        with django_capture_on_commit_callbacks(execute=True):
            parts_services.parts_order_ship(
                order_id=order,
                carrier="CJ",
                tracking_number="123",
                eta=timezone.localdate() + dt.timedelta(days=3),
            )
        s.repair_approve(repair=r, actor=CUSTOMER_ACTOR)
        repairs["waiting_parts"] = r
        # Staff decided coverage by hand; then the whole way to the end, with a serial mismatch.
        r = intake(language, serial_number="HS100ZZZ9", device_in_shop=False)
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(repair=r, actor=tech, findings="Loose contact", labor_fee=1000)
        s.repair_set_coverage(repair=r, actor=desk, coverage=Coverage.PAID, reason="Water damage")
        s.repair_record_deposit(repair=r, actor=desk, amount=1000)
        s.repair_approve(repair=r, actor=desk)
        s.repair_invite_for_repair(repair=r, actor=desk)
        s.repair_check_in_device(repair=r, actor=desk, serial_number=old.serial_number)
        s.repair_start(repair=r, actor=tech)
        s.repair_complete(repair=r, actor=tech, work_notes="Resoldered")
        s.repair_notify_ready_for_pickup(repair=r, actor=desk)
        s.repair_hand_over(repair=r, actor=desk, amount_paid=0)
        repairs["closed"] = r
        # Declined, sent back by courier.
        r = intake(language)
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(repair=r, actor=tech, findings="Battery", labor_fee=3000)
        s.repair_set_coverage(repair=r, actor=desk, coverage=Coverage.PAID, reason="Dropped")
        s.repair_decline(repair=r, actor=CUSTOMER_ACTOR, reason="Too expensive")
        s.repair_request_courier_return(
            repair=r, actor=CUSTOMER_ACTOR, recipient_name="Minji Kim", address="45 Banpo-daero"
        )
        s.repair_ship(repair=r, actor=desk, carrier="CJ", tracking_number="555")
        repairs["shipped"] = r
        # In warranty: assigned and diagnosed, free.
        r = intake(language, serial_number=fresh.serial_number)
        s.repair_assign(repair=r, actor=desk, technician=tech)
        s.repair_diagnose(repair=r, actor=tech, findings="Loose clip", labor_fee=0)
        repairs["warranty"] = r
        return {k: Repair.objects.get(pk=v.pk) for k, v in repairs.items()}

    return {"build": build, "people": people, "order": None}


# --- walking the pages -------------------------------------------------------------------------


def _page_patterns() -> list[tuple[str, list[str]]]:
    """(url name, its argument names) of every named page, admin and API left out."""
    found = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if getattr(p, "app_name", None) == "admin" or "api" in str(p.pattern):
                    continue
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                found.append((p.name, list(p.pattern.converters)))

    walk(get_resolver().url_patterns)
    return found


def _who_for(name: str, people) -> object | None:
    if name.startswith("tech"):
        return people["technician"]
    if name.startswith(("desk", "parts", "lookup", "home")):
        return people["front_desk"]
    return None  # sign-in and the customer's pages


def _args_for(params: list[str], repair: Repair, order_id: int | None) -> list | None:
    values = {"ticket": repair.ticket_number, "token": repair.status_token}
    if order_id is not None:
        values["order_id"] = order_id
    promise = Promise.objects.filter(repair=repair).first()
    if promise is not None:
        values["promise_id"] = promise.pk
    if not all(p in values for p in params):
        return None
    return [values[p] for p in params]


def _client(language: str, user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


def _pages(world, language: str):
    """(what, visible text) of every page that answers a GET, for each repair of the world."""
    repairs = world["build"](language)
    people = world["people"]
    order = PartsOrderLine.objects.order_by("pk").values_list("order_id", flat=True).first()
    seen = set()
    for name, params in _page_patterns():
        for repair in repairs.values() if params else [None]:
            args = _args_for(params, repair, order) if repair is not None else []
            if args is None:
                continue
            url = reverse(name, args=args)
            if url.startswith(("/api/", "/admin/", "/healthz")) or url in seen:
                continue
            seen.add(url)
            query = {"serial": "HS100OLD1"} if name == "lookup-serial" else {"q": "Minji"}
            response = _client(language, _who_for(name, people)).get(url, query)
            if response.status_code in (302, 405):
                continue  # a write, or a redirect to the page itself
            assert response.status_code == 200, (url, response.status_code)
            if response["Content-Type"].startswith("application/json"):
                yield url, " ".join(str(v) for v in response.json().values())
            else:
                yield url, visible_text(response.content.decode(), language)
    desk = _client(language, people["front_desk"])
    for phone in ("010-2345-6789", "010-123"):  # matches, and a phone that is not one
        found = desk.post(reverse("lookup-customer"), {"phone": phone}).json()
        said = [str(v) for k, v in found.items() if k != "html"]
        yield "lookup-customer", visible_text(found.get("html", ""), language) + " ".join(said)
    manager = people["manager"]
    yield from _stock_pages(_client(language, manager), language)
    admin_urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        admin_urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    closed = repairs["closed"]
    admin_urls.append(reverse("admin:workflows_repair_change", args=[closed.pk]))
    shown = 0
    for url in admin_urls:
        response = _client(language, manager).get(url)
        assert response.status_code in (200, 403), (url, response.status_code)  # 403: not theirs
        shown += response.status_code == 200
        yield url, visible_text(response.content.decode(), language)
    assert shown >= 8, shown
    errors = [
        ("/no/such/page/", None, 404),
        ("/desk/?q=%00", people["front_desk"], 400),
        ("/desk/intake/", people["technician"], 403),
    ]
    for url, who, status in errors:
        response = _client(language, who).get(url)
        assert response.status_code == status, url
        yield url, visible_text(response.content.decode(), language)


def _stock_pages(boss: Client, language: str):
    """The stock page as a manager sees it: its forms, a refused transfer with an error beside
    every field, a transfer sent, and a filter naming an unknown part."""
    url = reverse("desk-stock")
    page = boss.get(url)
    assert page.status_code == 200
    yield url + " (manager)", visible_text(page.content.decode(), language)
    token = re.search(r'name="form_token" value="([^"]+)"', page.content.decode()).group(1)
    form = {"form_token": token, "to_center": "XX", "part_number": "NOPE", "reason": ""}
    refused = boss.post(reverse("desk-stock-transfer"), {**form, "quantity": "0"})
    assert refused.status_code == 400
    yield url + " (refused)", visible_text(refused.content.decode(), language)
    too_many = {**form, "to_center": "SC", "part_number": "CLIP-1", "reason": "Asked for"}
    refused = boss.post(reverse("desk-stock-transfer"), {**too_many, "quantity": "50"})
    assert refused.status_code == 400
    yield url + " (too many)", visible_text(refused.content.decode(), language)
    sent = boss.post(reverse("desk-stock-transfer"), {**too_many, "quantity": "1"}, follow=True)
    assert sent.redirect_chain, sent.status_code
    yield url + " (sent)", visible_text(sent.content.decode(), language)
    again = boss.post(reverse("desk-stock-transfer"), {**too_many, "quantity": "1"}, follow=True)
    yield url + " (sent twice)", visible_text(again.content.decode(), language)
    adjust = {"form_token": "adjust-1", "part_number": "NOPE", "delta": "0", "reason": ""}
    refused = boss.post(reverse("desk-stock-adjust"), adjust)
    assert refused.status_code == 400
    yield url + " (adjust refused)", visible_text(refused.content.decode(), language)
    adjusted = {**adjust, "part_number": "CLIP-1", "delta": "2", "reason": "Counted"}
    done = boss.post(reverse("desk-stock-adjust"), adjusted, follow=True)
    yield url + " (adjusted)", visible_text(done.content.decode(), language)
    unknown = boss.get(url, {"part": "NOPE"})
    yield url + " (unknown part)", visible_text(unknown.content.decode(), language)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_page_speaks_one_language(world, language):
    found = {}
    count = 0
    for url, text in _pages(world, language):
        count += 1
        bad = leaks(text, language)
        if bad:
            found[url] = bad
    assert count >= 30, count  # the walk really reached the pages
    assert not found, found


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("variant", ["a4", "receipt"])
def test_the_claim_ticket_speaks_the_repairs_language(world, language, variant):
    repairs = world["build"](language)
    for repair in repairs.values():
        text = pdf_text(render_claim_ticket(repair, variant=variant))
        assert repair.ticket_number in text
        assert not leaks(text, language), (repair.state, leaks(text, language))


def test_a_korean_repair_reads_in_english_for_english_staff(world):
    """Staff pages follow the staff's language, whatever the customer's (outgoing messages
    stay as they were sent, in the customer's language, so that panel is left out)."""
    repair = world["build"]("ko")["waiting_parts"]
    client = _client("en", world["people"]["front_desk"])
    html = client.get(reverse("desk-repair", args=[repair.ticket_number])).content.decode()
    html = re.sub(r'<section class="panel" id="messages">.*?</section>', "", html, flags=re.S)
    assert not leaks(visible_text(html, "en"), "en")


def test_the_status_page_is_in_the_repairs_language_unless_the_visitor_chose(world):
    repair = world["build"]("en")["waiting_parts"]
    url = reverse("status-token", args=[repair.status_token])
    korean_browser = Client(HTTP_ACCEPT_LANGUAGE="ko")
    assert not HANGUL.search(visible_text(korean_browser.get(url).content.decode(), "en"))
    korean_browser.post("/i18n/setlang/", {"language": "ko", "next": url})
    assert HANGUL.search(korean_browser.get(url).content.decode())


# --- the coverage reason -------------------------------------------------------------------------


def test_a_coverage_reason_from_intake_is_stored_as_a_code_and_rendered_per_language(world):
    repair = world["build"]("ko")["waiting_parts"]
    assert repair.coverage_reason_code == "warranty_ended"
    assert set(repair.coverage_reason_params) == {"serial", "date"}
    assert all(" " not in str(v) for v in repair.coverage_reason_params.values())  # no prose
    assert not RepairEvent.objects.filter(repair=repair, text__icontains="warranty").exists()

    url = reverse("desk-repair", args=[repair.ticket_number])
    desk = world["people"]["front_desk"]
    korean = visible_text(_client("ko", desk).get(url).content.decode(), "ko")
    english = visible_text(_client("en", desk).get(url).content.decode(), "en")
    date = repair.coverage_reason_params["date"]
    assert f"시리얼 HS100OLD1: 보증 기간이 {date}에 끝났습니다." in korean
    assert f"Serial HS100OLD1: warranty ended on {date}." in english

    api = _client("en", desk).get(f"/api/v1/repairs/{repair.ticket_number}/").json()
    assert api["coverage_reason"] == f"Serial HS100OLD1: warranty ended on {date}."
    with translation.override("ko"):
        assert repair.coverage_reason.startswith("시리얼 HS100OLD1")


def test_the_data_migration_turns_the_old_prose_into_codes():
    import importlib
    from types import SimpleNamespace

    migration = importlib.import_module("workflows.migrations.0004_coverage_reason_code")
    assert migration.reason_code("Serial unknown — coverage to be confirmed.") == (
        "serial_unknown",
        {},
    )
    assert migration.reason_code("Serial AB123: warranty ended 2024-05-01.") == (
        "warranty_ended",
        {"serial": "AB123", "date": "2024-05-01"},
    )
    assert migration.reason_code("Serial AB123: in warranty until 2027-01-31.")[0] == "in_warranty"
    assert migration.reason_code("Serial AB123: parallel import, no warranty.") == (
        "parallel_import",
        {"serial": "AB123"},
    )
    assert migration.reason_code("침수 흔적") == ("staff", {"text": "침수 흔적"})
    assert migration.reason_code("") == ("", {})

    def event(kind_, text="", transition="", **data):
        return SimpleNamespace(kind=kind_, text=text, transition=transition, data=data)

    assert migration.event_code(event("transition", "수리를 시작했습니다."), {}) == (
        "repair_started",
        {},
        "",
    )
    assert migration.event_code(event("transition", "x", "assign", technician_name="Lee"), {}) == (
        "technician_assigned",
        {"name": "Lee"},
        "",
    )
    assert migration.event_code(event("notification", "[GN] body", notification="quote"), {}) == (
        "message_sent",
        {"kind": "quote"},
        "",
    )
    promise = event("promise", "Call back: 2026-01-01 10:00 later", kind="callback", promise=7)
    promise.data["due_at"] = "2026-01-01T10:00:00+09:00"
    assert migration.event_code(promise, {7: "later"}) == (
        "promise_made",
        {"kind": "callback", "due": "2026-01-01T10:00:00+09:00"},
        "later",
    )
    assert migration.event_code(event("note", "typed by a person"), {}) is None
    assert migration.event_code(event("transition", "Spring worn", "diagnose"), {}) is None


def test_an_error_with_facts_reads_in_the_pages_language_and_stays_english_in_the_api(
    world, django_capture_on_commit_callbacks
):
    import json
    import pickle

    from core.errors import ValidationFailed
    from core.pages import error_messages
    from core.validation import validated
    from workflows.inputs import PaymentInSerializer

    repair = world["build"]("ko")["closed"]  # 1,000 won paid, settled
    with pytest.raises(ValidationFailed) as caught:  # the shape is checked at the edge
        validated(PaymentInSerializer, {"amount": "x", "method": "cash"})
    with pytest.raises(ValidationFailed) as too_much:
        s.repair_record_refund(
            repair=repair,
            actor=world["people"]["front_desk"],
            amount=5000,
            method="cash",
            reason="x",
        )
    message = too_much.value.errors["amount"][0]
    english = "This repair is settled: only the 0 won paid beyond what was due can be refunded."
    assert message == english  # the API's text
    assert pickle.loads(pickle.dumps(message)).translated() == message.translated()
    assert json.loads(json.dumps({"m": message})) == {"m": english}
    with translation.override("ko"):
        korean = "정산이 끝난 수리입니다. 내야 할 금액보다 더 낸 0원만 환불할 수 있습니다."
        assert error_messages(too_much.value) == {"amount": [korean]}
        assert error_messages(caught.value)["amount"] == ["원 단위 정수로 입력하세요."]
    with translation.override("en"):
        assert error_messages(too_much.value) == {"amount": [english]}
