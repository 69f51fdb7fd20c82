"""The message editor in a real Chromium: the manager types into the body and the preview pane
follows (the fetch to /manager/messages/<kind>/<lang>/preview/), an unknown placeholder shows
its error beside the field while typing, saving stores the text, and the next repair phoned in
is sent it. Screenshots: tests/screenshots/messages_*.png."""

import pytest

from tests import browser_support as b
from workflows.models import MessageTemplate, Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), b.needs_chromium]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_typing_updates_the_preview_and_the_saved_text_is_sent(
    browser, live_server, manager, make_repair, center, language
):
    latest = make_repair()
    context = b.new_context(browser, live_server, language=language)
    page = b.sign_in(context, live_server, "manager")
    page.goto(f"{live_server.url}/manager/messages/received/{language}/")
    preview = page.locator("#preview-body")
    assert latest.ticket_number in preview.inner_text()  # rendered on the latest repair

    page.fill("#id_body", "")
    page.locator("#id_body").press_sequentially("Hello {customer}, {ticket} is in. {link}")
    page.wait_for_function(
        "() => document.querySelector('#preview-body').textContent.startsWith('Hello 김*지')"
    )
    assert f"{latest.ticket_number} is in." in preview.inner_text()
    assert not page.locator("#body-errors .ferr").count()

    page.locator("#id_body").press_sequentially(" {nope}")
    page.wait_for_selector("#body-errors .ferr")
    assert "{nope}" in page.locator("#body-errors").inner_text()
    b.shot(page, f"messages_editor_{language}_error")

    page.fill("#id_body", "Hello {customer}, {ticket} is in. {link}")
    page.wait_for_function("() => !document.querySelector('#body-errors .ferr')")
    b.shot(page, f"messages_editor_{language}")
    if b.AXE.exists():  # the a11y module's check, on this page too
        severe = [v for v in b.axe_violations(page) if v["impact"] in b.SEVERE]
        assert not severe, b.describe({page.url: severe})
    with page.expect_navigation():
        page.click("button[name=action][value=save]")
    assert page.url.endswith("/manager/messages/")
    row = page.locator(f"#message-received-{language}")
    assert "Hello {customer}" in row.inner_text()
    b.shot(page, f"messages_list_{language}")
    context.close()

    template = MessageTemplate.objects.get(center=center, kind="received", language=language)
    assert template.body == "Hello {customer}, {ticket} is in. {link}"
    repair = make_repair(language=language, intake_channel="phone", device_in_shop=False)
    (sent,) = Notification.objects.filter(repair=repair)
    assert sent.body.startswith(f"Hello 김민지, {repair.ticket_number} is in. http")
