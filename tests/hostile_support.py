"""Helpers for the hostile-input tests: junk goes in at the edge (an API post or a page form)
and comes back as a 400 naming each bad field, with nothing written and never a 500.

(No tests here.)
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape

from core.validation import has_control_characters
from parts.models import Part, PartsOrder, PartsOrderLine, Reservation, Stock
from service_center.models import Customer, Device
from tests.test_api_support import V1, client_for, post
from workflows.models import Notification, Payment, Promise, Repair, RepairEvent

TEN_THOUSAND = "A" * 10_000
MODELS = [
    Repair,
    Customer,
    Device,
    RepairEvent,
    Notification,
    Promise,
    Payment,
    Reservation,
    PartsOrder,
    PartsOrderLine,
    Part,
    Stock,
]


def snapshot() -> dict:
    counts: dict[str, Any] = {m.__name__: m.objects.count() for m in MODELS}
    counts["repairs"] = sorted(
        Repair.objects.values_list(
            "pk",
            "state",
            "coverage",
            "labor_fee",
            "amount_paid",
            "deposit_paid",
            "device_id",
            "device_in_shop",
            "version",
        )
    )
    counts["stock"] = sorted(Stock.objects.values_list("pk", "on_hand", "reserved"))
    return counts


def names(errors: dict[str, Any], field: str) -> bool:
    """`errors` names `field` itself or one of its parts (`parts.0.quantity` for `parts`)."""
    return any(k == field or k.startswith(f"{field}.") for k in errors)


def refused_by_api(user, path: str, data: Any, *fields: str, code: str = "invalid") -> dict:
    """POSTing `data` answers 400 `code` naming each of `fields` with a message, and no row
    changed. Returns the answer."""
    before = snapshot()
    response = post(client_for(user), path, data)
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == code and body["detail"], body
    for field in fields:
        assert names(body["errors"], field), body
    assert all(isinstance(m, str) and m for ms in body["errors"].values() for m in ms), body
    assert snapshot() == before
    return body


def raw_refused_by_api(user, path: str, raw: bytes, field: str = "") -> None:
    """A body JSON cannot hold (NaN is a `parse_error`) or a number too big for a float (1e999
    reads as infinity: `invalid`, naming `field`) is a 400, and no row changed."""
    before = snapshot()
    response = client_for(user).generic("POST", V1 + path, raw, content_type="application/json")
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == ("invalid" if field else "parse_error"), body
    assert not field or names(body["errors"], field), body
    assert snapshot() == before


def _at_the_door(data: dict[str, str]) -> bool:
    """core.middleware refuses a control character in a form before any view sees it."""
    return any(has_control_characters(v) for v in data.values())


def _messages_shown(html: str, messages: list[str]) -> bool:
    return bool(messages) and all(
        f'class="ferr" role="alert">{escape(m)}</p>' in html for m in messages
    )


def refused_by_page(client, path: str, data: dict, *fields: str) -> str:
    """A timeline form comes back (400) with each field's message beside it and what was typed,
    and no row changed. Returns the page."""
    before = snapshot()
    response = client.post(path, data)
    html = response.content.decode()
    assert response.status_code == 400
    if not _at_the_door(data):
        assert response.context["form_values"] == data
        for field in fields:
            assert _messages_shown(html, response.context["form_errors"][field]), field
    assert snapshot() == before
    return html


def page_action(response, name: str) -> Any:
    """The repair page's action (a transition's button and form) called `name`."""
    context = response.context
    actions = [*context["available"], *context["blocked"], *context["later"]]
    return next(a for a in actions if a.name == name)


def transition_refused_by_page(client, path: str, data: dict, name: str, *fields: str) -> str:
    """A transition's form comes back open (400) with each field's message beside it and what
    was typed, and no row changed. Returns the page."""
    before = snapshot()
    response = client.post(path, data)
    html = response.content.decode()
    assert response.status_code == 400, html[:500]
    if not _at_the_door(data):
        action = page_action(response, name)
        assert f'id="details-{name}" open' in html
        assert action.values == data
        for field in fields:
            assert _messages_shown(html, action.errors[field]), (field, action.errors)
    assert snapshot() == before
    return html


def intake_refused_by_page(client, data: dict, *fields: str) -> str:
    """The intake form comes back (400) with each field's message beside it and everything
    typed still in it, and nothing was taken in. Returns the page."""
    before = snapshot()
    response = client.post("/desk/intake/", data)
    html = response.content.decode()
    assert response.status_code == 400
    if not _at_the_door(data):
        for key, value in data.items():
            assert response.context["values"][key] == value
        for field in fields:
            assert _messages_shown(html, response.context["errors"][field]), field
    assert snapshot() == before
    return html
