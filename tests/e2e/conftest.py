"""Browser tests: a real Chromium, driven by Playwright, against pytest-django's live server.

Every page a test opens is watched: a console error, an uncaught script error
or a Content-Security-Policy violation fails the test. `axe_check(page)` runs
axe-core's WCAG 2.1 A/AA rules on the page as it is now.

Without Chromium or axe-core the tests are skipped with the reason, unless
REQUIRE_BROWSER=1 is set (CI), in which case they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API keeps an event loop running in the test thread, and
# Django refuses ORM calls from a thread with a running loop. Tests only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AXE_PATH = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_CANDIDATES = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# axe-core is loaded as a same-origin script from this made-up path, which the
# browser context answers from node_modules: an inline script (what
# add_script_tag(path=...) inserts) is refused by the portal's CSP, rightly.
AXE_URL_PATH = "/__e2e__/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}

# Reported on every page as a console error, so that a CSP violation is
# caught whichever way Chromium chooses to report it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def _chromium_path() -> Path | None:
    return next((path for path in CHROMIUM_CANDIDATES if path.exists()), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium_path()
    if executable is None:
        _unavailable("No Chromium found at " + " or ".join(str(p) for p in CHROMIUM_CANDIDATES))
    if not AXE_PATH.is_file():
        _unavailable(f"axe-core not found at {AXE_PATH}; run `npm ci`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("The playwright Python package is not installed")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        except Exception as error:  # noqa: BLE001  (any launch failure means no browser)
            _unavailable(f"Chromium at {executable} did not start: {error}")
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran."""

    messages: list[str] = field(default_factory=list)
    expected: set[tuple[str, int]] = field(default_factory=set)

    def expect_status(self, path: str, status: int) -> None:
        """A page the test loads on purpose to see it refused: the browser's error for it is not a problem."""
        self.expected.add((path, status))

    def watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                source = (message.location or {}).get("url") or page.url
                if any(
                    source.split("?")[0].endswith(path) and f"status of {status} " in message.text
                    for path, status in self.expected
                ):
                    return
                self.messages.append(f"console error on {source}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught error on {page.url}: {error}"))


@pytest.fixture
def browser_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser: Any, live_server: Any, browser_problems: PageProblems) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context: `new_page(viewport=NARROW)` for a phone-sized one,
    `new_page(java_script_enabled=False)` and other browser.new_context() options too."""
    contexts: list[Any] = []

    def _new_page(viewport: dict[str, int] | None = None, **context_options: Any) -> Any:
        context = browser.new_context(
            viewport=viewport or DESKTOP, base_url=live_server.url, locale="en-US", **context_options
        )
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_LISTENER)
        context.route(
            f"**{AXE_URL_PATH}",
            lambda route: route.fulfill(path=AXE_PATH, content_type="text/javascript; charset=utf-8"),
        )
        contexts.append(context)
        page = context.new_page()
        browser_problems.watch(page)
        return page

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A 1280x800 page whose relative URLs go to the live server."""
    return new_page()


@pytest.fixture
def narrow_page(new_page: Callable[..., Any]) -> Any:
    """A 320-pixel-wide page (WCAG 1.4.10 reflow)."""
    return new_page(viewport=NARROW)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    problems = getattr(item, "funcargs", {}).get("browser_problems")
    if problems is not None and problems.messages:
        pytest.fail("The browser reported problems:\n" + "\n".join(problems.messages), pytrace=False)
    return result


def axe_check(page: Any, *, context: str | None = None) -> None:
    """Run axe-core's WCAG 2.1 A and AA rules on the page (or on the `context` selector) and fail on any violation."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_URL_PATH)
    results = page.evaluate(
        """async ([tags, context]) => {
            const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
            return await window.axe.run(context ? document.querySelector(context) : document, options);
        }""",
        [AXE_TAGS, context],
    )
    violations = results["violations"]
    if violations:
        lines = [f"axe found {len(violations)} accessibility violation(s) on {page.url}:"]
        for violation in violations:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            lines.append(
                f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"    {violation['helpUrl']}\n    first nodes: {targets}"
            )
        pytest.fail("\n".join(lines), pytrace=False)
