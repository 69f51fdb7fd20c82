"""Intake evidence in a real Chromium: the desk takes a device in with the checklist and a photo
(the checklist follows the chosen model), the repair page shows the thumbnail, the customer's
status page shows it through a signed link at phone size. Screenshots in tests/screenshots/."""

from pathlib import Path

from tests import test_browser_pages as pages
from tests.factories import ProductModelFactory
from tests.photo_support import camera_jpeg
from workflows.models import IntakePhoto, Repair

pytestmark = pages.pytestmark
browser = pages.browser  # the module's Chromium fixture
_shot, _staff_page = pages._shot, pages._staff_page


def _loaded(page, selector) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_the_desk_takes_a_device_in_with_the_checklist_and_a_photo(
    browser, live_server, desk, headset, tmp_path: Path
):
    ProductModelFactory(code="EB-200", name="무선 이어폰 EB-200", category="earbuds")
    photo = tmp_path / "scratch.jpg"
    photo.write_bytes(camera_jpeg((800, 600), orientation=6))
    page = _staff_page(browser, live_server, "desk")
    page.goto(live_server.url + "/desk/intake/")
    assert page.is_visible("tr[data-item=screen]") and not page.is_visible("tr[data-item=ear_tips]")
    page.select_option("#product_model", "EB-200")
    assert page.is_visible("tr[data-item=ear_tips]") and not page.is_visible("tr[data-item=screen]")
    page.select_option("#product_model", "HBS-1100")
    page.fill("#customer_phone", "010-2345-6789")
    page.fill("#customer_name", "김민지")
    page.fill("#symptom", "오른쪽 유닛 소리가 안 나요")
    page.check("input[name=condition_screen][value=damaged]")
    page.fill("input[name=condition_screen_note]", "왼쪽 위 긁힘")
    page.check("input[name=condition_casing][value=ok]")
    page.set_input_files("#photos", str(photo))
    _shot(page, "evidence-intake-form")
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    repair = Repair.objects.get()
    assert [c["item"] for c in repair.condition if c["state"] != "not_checked"] == [
        "screen",
        "casing",
    ]
    assert "ear_tips" not in [c["item"] for c in repair.condition]
    stored = IntakePhoto.objects.get(repair=repair)
    assert (stored.width, stored.height) == (600, 800)  # turned upright
    page.wait_for_selector("#photos .thumbs img")
    assert _loaded(page, "#photos .thumbs img")
    assert "왼쪽 위 긁힘" in page.inner_text("#photos")
    _shot(page, "evidence-repair-page")

    customer = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR")
    status = customer.new_page()
    status.goto(f"{live_server.url}/status/t/{repair.status_token}/")
    status.wait_for_selector("#photos .thumbs img")
    assert _loaded(status, "#photos .thumbs img")
    assert "?s=" in status.get_attribute("#photos .thumbs img", "src")
    _shot(status, "evidence-status-390")
    customer.close()
