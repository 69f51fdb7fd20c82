"""The manager's reports page in a real Chromium: the charts drawn, their tables, the CSV link,
at desktop and at phone width (390 px: nothing wider than the screen), in Korean and English,
and no serious axe-core violation. Screenshots go to tests/screenshots/ (gitignored)."""

import pytest
from django.core.cache import cache

from tests import browser_support as b
from tests.reports_support import FROM, TO, build_fortnight

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), b.needs_chromium]


@pytest.fixture
def fortnight(make_repair, desk, tech, manager, other_center):
    cache.clear()
    return build_fortnight(make_repair, desk=desk, tech=tech, other_center=other_center)


def _open(browser, live_server, *, viewport, language):
    context = b.new_context(browser, live_server, viewport=viewport, language=language)
    page = b.sign_in(context, live_server, "manager")
    page.goto(f"{live_server.url}/manager/?from={FROM}&to={TO}")
    return context, page


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_reports_page_draws_its_charts_and_tables(browser, live_server, fortnight, language):
    context, page = _open(browser, live_server, viewport=b.DESKTOP, language=language)
    assert page.locator("svg.chart[role=img]").count() == 6
    assert page.locator("section.report table").count() == 6
    # Each bar says its figure when hovered (<title>); the turnaround has one bar per week.
    titles = page.locator("#turnaround svg title").all_text_contents()
    assert len(titles) == 2 and titles[0].startswith("2026-W02")
    assert page.locator("#ftf-rate").inner_text() == "80.0%"
    link = page.locator("#csv-link")
    assert link.get_attribute("href") == f"/api/v1/reports/repairs.csv?from={FROM}&to={TO}"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"repairs-GN-{FROM}_{TO}.csv"
    heading = page.locator("h1").inner_text()
    assert heading.startswith("보고서" if language == "ko" else "Reports")
    b.shot(page, f"reports_{language}_desktop")
    context.close()


def test_the_reports_page_fits_a_phone(browser, live_server, fortnight):
    context, page = _open(browser, live_server, viewport=b.PHONE, language="ko")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= b.PHONE["width"], f"the page is {width} px wide at 390 px"
    box = page.locator("#states svg.chart").bounding_box()
    assert box["width"] <= b.PHONE["width"] and box["height"] > 100
    b.shot(page, "reports_ko_phone")
    context.close()


def test_a_refused_range_says_why_beside_the_field(browser, live_server, fortnight):
    context = b.new_context(browser, live_server, viewport=b.DESKTOP, language="en")
    page = b.sign_in(context, live_server, "manager")
    page.goto(f"{live_server.url}/manager/")
    page.fill("#from", "2026-02-01")
    page.fill("#to", "2026-01-01")
    with page.expect_navigation():
        page.click("#report-range button[type=submit]")
    assert page.locator("#to-error").inner_text() == "The end date is before the start date."
    assert page.input_value("#from") == "2026-02-01" and page.input_value("#to") == "2026-01-01"
    assert page.locator("#turnaround").count() == 0
    context.close()


@b.needs_axe
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_reports_page_has_no_serious_axe_violation(browser, live_server, fortnight, viewport):
    size = b.DESKTOP if viewport == "desktop" else b.PHONE
    context, page = _open(browser, live_server, viewport=size, language="ko")
    found = [v for v in b.axe_violations(page) if v["impact"] in b.SEVERE]
    context.close()
    assert not found, b.describe({f"/manager/ {viewport}": found})
