"""The pages in a real Chromium (Playwright): S1 walked through by the three roles, and S5/S6 on
the customer's status page at phone size. Screenshots go to tests/screenshots/ (gitignored)."""

import shutil
from pathlib import Path

import pytest
from django.core.cache import cache

from parts.models import PartsOrder
from tests.browser_support import ARGS, CHROMIUM, SHOTS
from tests.conftest import PASSWORD, stock
from workflows import services as s
from workflows.models import Notification, Repair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _staff_page(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit].btn-primary")
    page.wait_for_load_state()
    return page


def _shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _open_action(page, name):
    page.click(f"summary[data-open={name}]")
    return f"#action-{name}"


def _submit(page, selector):
    with page.expect_navigation():
        page.click(f"{selector} button[type=submit]")


def test_s1_the_missing_clip_spring_walked_through_the_pages(
    browser, live_server, desk, tech, manager, headset, spring, center
):
    stock(center, spring, 0)
    front = _staff_page(browser, live_server, "desk")
    assert front.url.endswith("/desk/")

    # Intake by phone: the serial is unknown, the headset stays with her.
    front.goto(live_server.url + "/desk/intake/")
    front.fill("#customer_phone", "010-2345-6789")
    front.fill("#customer_name", "김민지")
    front.check("input[name=intake_channel][value=phone]")
    assert not front.is_checked("#device_in_shop")
    front.select_option("#product_model", headset.code)
    front.fill("#symptom", "클립의 작은 스프링이 빠졌어요.")
    _shot(front, "s1_01_intake")
    with front.expect_navigation():
        front.click("form#intake-form button[type=submit]")
    repair = Repair.objects.get()
    assert repair.coverage == "undetermined" and not repair.device_in_shop
    assert front.url.endswith(f"/desk/repairs/{repair.ticket_number}/")
    claim = front.get_attribute("a[href$='claim-ticket.pdf']", "href")
    assert claim == f"/api/v1/repairs/{repair.ticket_number}/claim-ticket.pdf"

    form = _open_action(front, "assign")
    front.select_option(f"{form} select[name=technician]", str(tech.pk))
    _submit(front, form)

    # The technician diagnoses: one spring, none on the shelf, so it is ordered.
    bench = _staff_page(browser, live_server, "tech")
    assert bench.url.endswith("/tech/")
    _shot(bench, "s1_02_tech_home")
    bench.click(f"a[href='/tech/repairs/{repair.ticket_number}/']")
    form = _open_action(bench, "diagnose")
    bench.fill(f"{form} textarea[name=findings]", "클립 스프링 1개 교체 (재고 없음, 주문)")
    bench.fill(f"{form} input[name='qty_{spring.part_number}']", "1")
    _shot(bench, "s1_03_diagnose")
    _submit(bench, form)
    repair.refresh_from_db()
    assert repair.state == "awaiting_approval"
    assert [r.status for r in repair.reservations.all()] == ["waiting"]

    # Weeks later the spring arrives and is received.
    front.goto(live_server.url + "/desk/parts-orders/")
    _shot(front, "s1_04_parts_orders")
    order = PartsOrder.objects.get()
    with front.expect_navigation():
        front.click(f"button[data-order='{order.pk}']")
    assert [r.status for r in repair.reservations.all()] == ["reserved"]

    # The invite is blocked, with its reasons beside the button; no message goes out.
    front.goto(live_server.url + f"/desk/repairs/{repair.ticket_number}/")
    blocked = front.locator("#blocked-invite_for_repair")
    assert blocked.locator("button").is_disabled()
    assert blocked.locator("li[data-code=coverage_undetermined]").count() == 1
    assert blocked.locator("li[data-code=quote_not_approved]").count() == 1
    _shot(front, "s1_05_invite_blocked")
    invites = Notification.objects.filter(repair=repair, kind="invite_for_repair")
    assert not invites.exists()

    # She agrees to a paid repair at the stated price; the desk settles it and records approval.
    form = _open_action(front, "set_coverage")
    front.select_option(f"{form} select[name=coverage]", "paid")
    front.fill(f"{form} input[name=reason]", "고객이 유상 수리(100원)에 전화로 동의")
    _submit(front, form)
    front.check("#action-approve input[name=confirm]")  # a one-way step: ticked first
    with front.expect_navigation():
        front.click("button[data-action=approve]")
    assert front.locator("#blocked-invite_for_repair").count() == 0
    form = _open_action(front, "invite_for_repair")
    _shot(front, "s1_06_invite_enabled")
    _submit(front, form)
    assert invites.count() == 1
    repair.refresh_from_db()
    assert repair.promised_price == 100 and repair.promises.filter(kind="ready_by").exists()
    assert "100" in front.locator(".promised").inner_text()

    # At the counter: check in; the owning technician starts and completes it the same visit.
    form = _open_action(front, "check_in_device")
    _submit(front, form)
    bench.goto(live_server.url + f"/tech/repairs/{repair.ticket_number}/")
    with bench.expect_navigation():
        bench.click("button[data-action=start_repair]")
    form = _open_action(bench, "complete")
    bench.fill(f"{form} textarea[name=work_notes]", "스프링 교체 완료")
    _submit(bench, form)
    _shot(bench, "s1_07_completed")

    front.goto(live_server.url + f"/desk/repairs/{repair.ticket_number}/")
    with front.expect_navigation():
        front.click("button[data-action=notify_ready_for_pickup]")
    form = _open_action(front, "hand_over")
    assert front.input_value(f"{form} input[name=amount_paid]") == "100"
    front.check(f"{form} input[name=confirm]")
    _submit(front, form)
    repair.refresh_from_db()
    assert repair.state == "closed" and repair.amount_paid == 100
    _shot(front, "s1_08_closed")
    assert front.locator("#timeline li").count() >= 12


def test_s5_s6_the_customer_approves_and_asks_for_courier_return_on_a_phone(
    browser, live_server, make_repair, desk, tech, expired, battery, center, diagnose
):
    stock(center, battery, 1)
    repair = make_repair(serial_number=expired.serial_number, symptom="배터리가 빨리 닳아요")
    diagnose(
        repair, "배터리 교체 필요", parts=[{"part_number": battery.part_number}], labor_fee=5000
    )

    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ko-KR",
    )
    page = phone.new_page()
    page.set_default_timeout(10000)
    page.goto(live_server.url + "/status/")
    page.fill("#ticket_number", repair.ticket_number)
    page.fill("#phone_last4", "0000")
    with page.expect_navigation():
        page.click("#lookup-form button[type=submit]")
    _shot(page, "s5_00_wrong_digits")
    assert page.locator(".puberror").count() == 1, page.content()[:3000]
    assert "배터리 교체 필요" not in page.content()
    page.fill("#phone_last4", "6789")
    _shot(page, "s5_01_lookup")
    with page.expect_navigation():
        page.click("#lookup-form button[type=submit]")
    assert page.url.endswith(f"/status/t/{repair.status_token}/")
    assert "6789" not in page.url
    assert page.locator("#technician").inner_text() == "tech"
    assert "010-****-6789" in page.content()
    _shot(page, "s5_02_quote")

    with page.expect_navigation():
        page.click("form[action$='/approve/'] button")
    repair.refresh_from_db()
    assert repair.state == "ready_to_repair" and repair.quote_approved_by == "customer"

    page.click("details.courier summary")
    page.fill("#recipient_name", "김민지")
    page.fill("#address", "부산광역시 해운대구 센텀로 45")
    with page.expect_navigation():
        page.click("#courier-form button[type=submit]")
    repair.refresh_from_db()
    assert repair.return_method == "courier"
    _shot(page, "s6_01_courier_requested")

    s.repair_start(repair=repair, actor=tech)
    repair = s.repair_complete(repair=repair, actor=tech)
    # Courier customers pay before the device leaves (ship is blocked by `balance_due`).
    s.repair_record_payment(repair=repair, actor=desk, amount=repair.balance_due, method="transfer")
    s.repair_ship(repair=repair, actor=desk, carrier="CJ대한통운", tracking_number="6543210987")
    page.reload()
    assert page.locator(".tracking").inner_text() == "6543210987"
    _shot(page, "s6_02_shipped")
    phone.close()
