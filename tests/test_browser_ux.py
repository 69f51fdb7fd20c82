"""Issue 12's page defects in a real Chromium: an empty intake shows every error at once with the
cursor starting in the phone field; the board at 1366 px shows every column or scrolls with a
visible hint, and card badges are not cut off. Screenshots go to tests/screenshots/."""

import pytest
from django.core.cache import cache

from tests import browser_support as b
from workflows import services as s

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), b.needs_chromium]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_an_empty_intake_shows_every_error_at_once(browser, live_server, desk, headset, language):
    cache.clear()
    context = b.new_context(browser, live_server, language=language)
    page = b.sign_in(context, live_server, "desk")
    page.goto(live_server.url + "/desk/intake/")
    # autofocus lands once the page has loaded; wait for it rather than race it (5 s at most)
    page.wait_for_function(
        "document.activeElement && document.activeElement.id === 'customer_phone'", timeout=5000
    )
    assert page.evaluate("document.activeElement.id") == "customer_phone"
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    for field in ("customer_phone", "customer_name", "symptom", "product_model"):
        assert page.get_attribute(f"[name={field}]", "aria-invalid") == "true", field
    assert page.locator(".ferr:visible").count() >= 4
    b.shot(page, f"ux_intake_empty_submit_{language}")
    context.close()


def test_the_board_at_1366_px_scrolls_sideways_with_a_visible_hint(
    browser, live_server, desk, tech, make_repair, in_warranty, expired
):
    cache.clear()
    for _i in range(3):
        make_repair(return_method="courier", courier_address="서울 서초구 1", device_in_shop=False)
    assigned = make_repair(serial_number=in_warranty.serial_number)
    s.repair_assign(repair=assigned, actor=desk, technician=tech)
    make_repair(serial_number=expired.serial_number)
    context = b.new_context(browser, live_server, viewport={"width": 1366, "height": 768})
    page = b.sign_in(context, live_server, "desk")
    page.goto(live_server.url + "/desk/")
    b.shot(page, "ux_board_1366_start")
    board = page.locator("#board")
    scroll, client = board.evaluate("el => [el.scrollWidth, el.clientWidth]")
    columns = page.locator("#board .column")
    last = columns.nth(columns.count() - 1).bounding_box()
    if scroll > client:  # not every column fits: it must say so
        assert page.locator("#board-hint").is_visible()
        assert "more-right" in page.get_attribute("#boardwrap", "class")
        board.evaluate("el => el.scrollTo({left: el.scrollWidth})")
        page.wait_for_function(
            "!document.getElementById('boardwrap').classList.contains('more-right')"
        )
        assert "more-left" in page.get_attribute("#boardwrap", "class")
        last = columns.nth(columns.count() - 1).bounding_box()
        b.shot(page, "ux_board_1366_scrolled")
    assert last["x"] + last["width"] <= 1366, "the last column cannot be reached"
    # No badge is cut off: each fits inside its card.
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.rcard .badge')].filter(el => {
            const card = el.closest('.rcard').getBoundingClientRect();
            const r = el.getBoundingClientRect();
            return el.scrollWidth > el.clientWidth + 1 || r.right > card.right + 1;
        }).map(el => el.textContent)"""
    )
    assert cut == []
    context.close()


def test_the_board_on_a_wide_screen_hides_the_hint_when_everything_fits(
    browser, live_server, desk, make_repair
):
    cache.clear()
    make_repair()
    context = b.new_context(browser, live_server, viewport={"width": 2600, "height": 900})
    page = b.sign_in(context, live_server, "desk")
    page.goto(live_server.url + "/desk/")
    scroll, client = page.locator("#board").evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll <= client
    assert not page.locator("#board-hint").is_visible()
    context.close()


def test_handing_over_asks_for_the_confirm_box_first(
    browser, live_server, desk, tech, make_repair, in_warranty, diagnose
):
    cache.clear()
    repair = diagnose(make_repair(serial_number=in_warranty.serial_number), "스프링")
    s.repair_start(repair=repair, actor=tech)
    s.repair_complete(repair=repair, actor=tech, work_notes="스프링 교체, 납땜 보강")
    s.repair_notify_ready_for_pickup(repair=repair, actor=desk)
    context = b.new_context(browser, live_server, language="en")
    page = b.sign_in(context, live_server, "desk")
    page.goto(live_server.url + f"/desk/repairs/{repair.ticket_number}/")
    assert page.locator("#work-notes").is_visible()
    page.click("summary[data-open=hand_over]")
    page.click("#action-hand_over button[type=submit]")  # the browser asks for the box first
    assert page.evaluate("document.activeElement.name") == "confirm"
    b.shot(page, "ux_hand_over_confirm")
    repair.refresh_from_db()
    assert repair.state == "ready_for_pickup"
    page.check("#action-hand_over input[name=confirm]")
    with page.expect_navigation():
        page.click("#action-hand_over button[type=submit]")
    repair.refresh_from_db()
    assert repair.state == "closed"
    assert page.locator("#actions [disabled]").count() == 0
    b.shot(page, "ux_closed_repair")
    context.close()
