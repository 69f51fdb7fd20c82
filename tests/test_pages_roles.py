"""Each role lands on its own page; nobody opens another role's pages."""

import pytest


@pytest.mark.parametrize(
    ("persona", "landing"), [("desk", "/desk/"), ("manager", "/desk/"), ("tech", "/tech/")]
)
def test_each_role_lands_on_its_page(client, request, persona, landing):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing
    assert client.get(landing).status_code == 200


def test_sign_in_form_sends_staff_to_their_landing_page(client, desk):
    response = client.post("/login/", {"username": "desk", "password": "demo12345"}, follow=True)
    assert response.redirect_chain[-1][0] == "/desk/"


def test_a_technician_cannot_open_the_desk_intake(client, tech):
    client.force_login(tech)
    assert client.get("/desk/intake/").status_code == 403
    assert client.get("/desk/").status_code == 403


def test_the_desk_cannot_open_the_technician_pages(client, desk):
    client.force_login(desk)
    assert client.get("/tech/").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, center):
    for url in ("/", "/desk/", "/desk/intake/", "/tech/", "/desk/calls/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_sign_out_is_a_post(client, desk):
    client.force_login(desk)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/desk/").status_code == 302


def test_the_language_switch_turns_the_desk_english(client, desk):
    client.force_login(desk)
    client.post("/i18n/setlang/", {"language": "en", "next": "/desk/"})
    assert "Board" in client.get("/desk/").content.decode()
    client.post("/i18n/setlang/", {"language": "ko", "next": "/desk/"})
    assert "현황판" in client.get("/desk/").content.decode()


# --- the parts-orders page: who sees and may post which form ----------------------------------

# Technicians and the desk request parts; a manager records the warehouse's dispatch; the desk
# or a manager receives and cancels (DESIGN.md, contract additions v1.1).
ORDER_FORMS = {
    "receive": ({"desk", "manager"}, {}, "received"),
    "ship": ({"manager"}, {"carrier": "CJ", "tracking_number": "WH-1"}, "shipped"),
    "cancel": ({"desk", "manager"}, {"reason": "not needed"}, "cancelled"),
}


@pytest.mark.parametrize("persona", ["desk", "tech", "manager"])
@pytest.mark.parametrize("form", list(ORDER_FORMS))
def test_a_parts_order_form_is_shown_and_accepted_exactly_for_its_roles(
    client, request, persona, form, center, spring
):
    from parts import services as parts_services
    from parts.models import Stock
    from tests.conftest import stock

    stock(center, spring, 2)
    order = parts_services.parts_order_request(center_id=center.pk, lines=[(spring, 5, None)])
    allowed, body, after = ORDER_FORMS[form]
    client.force_login(request.getfixturevalue(persona))
    action = f"/desk/parts-orders/{order.pk}/{form}/"

    page = client.get("/desk/parts-orders/")
    assert page.status_code == 200
    assert (f'action="{action}"' in page.content.decode()) == (persona in allowed)

    response = client.post(action, body)
    order.refresh_from_db()
    if persona in allowed:
        assert response.status_code == 302
        assert order.state == after
    else:
        assert response.status_code == 403
        assert "403" in response.content.decode()
        assert order.state == "requested"
        assert Stock.objects.get(center=center, part=spring).on_hand == 2
