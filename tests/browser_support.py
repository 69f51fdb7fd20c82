"""Shared by the Playwright tests: one Chromium per module, signed-in contexts, screenshots, and
axe-core (installed by scripts/setup.sh with WITH_BROWSER=1) injected into a page."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop; Django's ORM calls from the test body are still sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(__file__).parent / "screenshots"
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
)
needs_axe = pytest.mark.skipif(
    not AXE.exists(),
    reason=f"axe-core is not installed at {AXE}: run WITH_BROWSER=1 scripts/setup.sh (needs npm)",
)

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def launch(playwright):
    SHOTS.mkdir(exist_ok=True)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def new_context(browser, live_server, *, viewport=DESKTOP, language="ko"):
    context = browser.new_context(
        viewport=viewport, locale="ko-KR" if language == "ko" else "en-US"
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    return context


def sign_in(context, live_server, username):
    page = context.new_page()
    page.set_default_timeout(10000)
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit].btn-primary")
    return page


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


SEVERE = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2 A/AA and best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: '
                    + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 200)),
            }));
        }"""
    )


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']}")
            lines.extend(f"      {n}" for n in v["nodes"])
    return "\n".join(lines)
