"""axe-core over every page, in Korean and English, at desktop (1440 px) and phone (390 px)
width: no serious or critical violation, and none of the minor ones issue 12 named (a
`role` a `<section>` may not have, an empty table header). Violations are printed on failure."""

import pytest
from django.core.cache import cache

from tests import browser_support as b
from tests.conftest import stock
from workflows import services as s

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    b.needs_chromium,
    b.needs_axe,
]

# Minor rules that were reported on these pages and fixed: keep them fixed.
NAMED_MINOR = {"aria-allowed-role", "empty-table-header", "listitem", "list"}


@pytest.fixture
def repairs(make_repair, desk, tech, diagnose, center, spring, battery, expired, in_warranty):
    """One repair in each state a page looks different in."""
    cache.clear()
    stock(center, spring, 0)
    stock(center, battery, 2)
    received = make_repair()
    on_order = diagnose(
        make_repair(intake_channel="phone", device_in_shop=False),
        "스프링 교체",
        parts=[{"part_number": spring.part_number}],
    )
    s.repair_record_call(repair=on_order, actor=desk, text="부품 주문 안내")
    quoted = diagnose(
        make_repair(serial_number=expired.serial_number),
        "배터리 교체",
        parts=[{"part_number": battery.part_number}],
        labor_fee=5000,
    )
    done = diagnose(make_repair(serial_number=in_warranty.serial_number), "스프링")
    s.repair_start(repair=done, actor=tech)
    s.repair_complete(repair=done, actor=tech, work_notes="스프링 교체")
    s.repair_notify_ready_for_pickup(repair=done, actor=desk)
    # Ready, the device at home: the status page offers visit times, the repair page books them.
    ready_home = diagnose(
        make_repair(
            serial_number=in_warranty.serial_number, intake_channel="phone", device_in_shop=False
        ),
        "점검",
    )
    return {
        "received": received,
        "on_order": on_order,
        "quoted": quoted,
        "done": done,
        "ready_home": ready_home,
    }


def _pages(repairs) -> dict[str, list[str]]:
    desk_repairs = [f"/desk/repairs/{r.ticket_number}/" for r in repairs.values()]
    return {
        "anonymous": [
            "/login/",
            "/status/",
            f"/status/t/{repairs['quoted'].status_token}/",
            f"/status/t/{repairs['on_order'].status_token}/",
            f"/status/t/{repairs['ready_home'].status_token}/",
            "/no-such-page/",
        ],
        "desk": [
            "/desk/",
            "/desk/intake/",
            *desk_repairs,
            "/desk/repairs/?state=closed",
            "/desk/repairs/?q=%EA%B9%80",
            "/desk/calls/",
            "/desk/parts-orders/",
            "/desk/stock/",
        ],
        "tech": ["/tech/", f"/tech/repairs/{repairs['on_order'].ticket_number}/"],
        "manager": ["/manager/"],
    }


SHOWN = {"/desk/", "/desk/calls/", "/status/"}  # saved to look at, failing or not


def _check(page, url: str) -> list[dict]:
    page.goto(url)
    return [v for v in b.axe_violations(page) if v["impact"] in b.SEVERE or v["id"] in NAMED_MINOR]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_no_page_has_a_serious_or_critical_axe_violation(
    browser, live_server, repairs, desk, tech, manager, language
):
    found: dict[str, list[dict]] = {}
    for name, viewport in (("desktop", b.DESKTOP), ("phone", b.PHONE)):
        for persona, urls in _pages(repairs).items():
            context = b.new_context(browser, live_server, viewport=viewport, language=language)
            if persona == "anonymous":
                page = context.new_page()
            else:
                page = b.sign_in(context, live_server, persona)
            for url in urls:
                violations = _check(page, live_server.url + url)
                if violations:
                    found[f"{language} {name} {url}"] = violations
                    b.shot(page, f"a11y_{language}_{name}_{persona}_{len(found)}")
                elif url in SHOWN:
                    b.shot(page, f"a11y_{language}_{name}_{url.strip('/').replace('/', '_')}")
            context.close()
    assert not found, "axe-core violations:\n" + b.describe(found)
