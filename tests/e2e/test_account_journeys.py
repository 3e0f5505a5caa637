"""Account journeys in a real browser: sign-up to two-step verification, staff sign-in,
idle sign-out, a phone-width screen and the language switch. Every distinct page
is checked with axe-core (WCAG 2.1 A and AA).
"""

from __future__ import annotations

import re
import time
from base64 import b32decode
from binascii import unhexlify
from typing import Any

import pytest
from django_otp.oath import TOTP

from accounts.models import RecoveryCode, RecoveryCodeDevice, User
from accounts.models.mfa import hash_recovery_code
from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.factories import TEST_PASSWORD, TOTP_KEY_HEX

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    Page = Any
    expect = None

pytestmark = pytest.mark.e2e

LOGIN_URL = re.compile(r"/accounts/login/(\?.*)?$")
HOME_URL = re.compile(r"^https?://[^/]+/$")
VERIFY_URL = re.compile(r"/accounts/verify/(\?.*)?$")
# The page's width, and the first few elements that stick out past `width`.
WIDTH_AND_WIDEST_ELEMENTS = """(width) => [
  document.documentElement.scrollWidth,
  [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + el.className : ""}`
      + ` ends at ${Math.round(el.getBoundingClientRect().right)}px`),
]"""


def totp_code(key: bytes, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now, or `steps_ahead` 30-second steps from now."""
    totp = TOTP(key, step=30, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def fresh_totp_code(key: bytes) -> str:
    """The current code, taken early enough in its 30-second step that the server checks it in the same step.

    A code the server accepts in a neighbouring step makes it record a clock
    drift, which would shift which code it accepts at the next sign-in.
    """
    left_in_step = 30 - time.time() % 30
    if left_in_step < 2:
        time.sleep(left_in_step + 0.05)
    return totp_code(key)


def wrong_code(key: bytes) -> str:
    """A six-digit code that is valid in no time step the server tolerates."""
    valid = {totp_code(key, steps_ahead=n) for n in (-2, -1, 0, 1, 2)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 1_000_000)) if code not in valid)


def sign_in_through_form(page: Page, email: str, password: str) -> None:
    expect(page).to_have_url(LOGIN_URL)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("form[action='/accounts/login/']").get_by_role("button", name="Sign in").click()


def assert_no_horizontal_scrolling(page: Page, width: int) -> None:
    # Measured once the stylesheet has loaded: before it, a long word in a heading overflows its box unbroken
    # (the page is then wider than its widest element, the text sticking out of it).
    page.wait_for_load_state("load")
    scroll_width, too_wide = page.evaluate(WIDTH_AND_WIDEST_ELEMENTS, width)
    assert scroll_width <= width, f"{page.url} scrolls sideways at {width}px ({scroll_width}px wide): {too_wide}"


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(LOGIN_URL)


def enter_second_factor(page: Page, code: str) -> None:
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(code)
    page.get_by_role("button", name="Continue").click()


def test_sign_up_confirm_email_and_turn_on_two_step_verification(page: Page, mailoutbox: list[Any]) -> None:
    email, password, full_name = "robin.new@example.test", "plum-orchard-velvet-1987", "Robin Castillo"

    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    axe_check(page)

    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", level=1, name="Create an account")).to_be_visible()
    axe_check(page)
    page.get_by_label("Your full name").fill(full_name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password (again)").fill(password)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", level=1, name="Verify Your Email Address")).to_be_visible()
    axe_check(page)

    messages = [message for message in mailoutbox if email in message.to]
    assert len(messages) == 1, [message.subject for message in mailoutbox]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", messages[0].body)
    assert link, messages[0].body
    page.goto(link.group(0))
    expect(page.get_by_role("heading", level=1, name="Confirm Email Address")).to_be_visible()
    axe_check(page)
    page.get_by_role("button", name="Confirm").click()

    sign_in_through_form(page, email, password)
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1, name="Hello, Robin")).to_be_visible()
    offer = page.get_by_role("region", name="Protect your account with two-step verification")
    expect(offer).to_be_visible()
    axe_check(page)

    offer.get_by_role("link", name="Set up two-step verification").click()
    expect(page.get_by_role("heading", level=1, name="Set up two-step verification")).to_be_visible()
    axe_check(page)
    key = b32decode(page.locator("#setup-key").inner_text().replace(" ", ""))
    page.get_by_label("The 6-digit code your app shows now").fill(fresh_totp_code(key))
    page.get_by_role("button", name="Turn on two-step verification").click()

    expect(page.get_by_role("heading", level=1, name="Your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes.all_inner_texts())
    axe_check(page)
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("region", name="Protect your account with two-step verification")).to_have_count(0)

    sign_out(page)
    sign_in_through_form(page, email, password)
    expect(page).to_have_url(VERIFY_URL)
    expect(page.get_by_role("heading", level=1, name="Two-step verification")).to_be_visible()
    axe_check(page)
    # The code just used to turn verification on is refused a second time, so
    # this is the one the app will show next (the server allows one step of drift).
    enter_second_factor(page, totp_code(key, steps_ahead=1))
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1, name="Hello, Robin")).to_be_visible()
    assert User.objects.get(email=email).full_name == full_name


def test_staff_sign_in_needs_the_second_factor(page: Page, world: World) -> None:
    user = world.user("staff_unverified")
    key = unhexlify(TOTP_KEY_HEX)

    page.goto("/staff/")
    sign_in_through_form(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(VERIFY_URL)

    enter_second_factor(page, wrong_code(key))
    code_field = page.get_by_label("Code from your authenticator app, or a recovery code")
    expect(page.locator(".field-error .errorlist")).to_contain_text("That code did not work")
    failed_at = time.monotonic()
    expect(page).to_have_url(VERIFY_URL)
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(code_field).to_have_accessible_description(re.compile("That code did not work"))
    axe_check(page)

    # One failure locks the device for a second (django-otp's throttling).
    time.sleep(max(0.0, 1.1 - (time.monotonic() - failed_at)))
    enter_second_factor(page, fresh_totp_code(key))
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1, name="Staff area")).to_be_visible()
    expect(page.get_by_role("heading", name=world.org_here.name)).to_be_visible()
    axe_check(page)


def test_staff_sign_in_with_a_recovery_code(page: Page, world: World) -> None:
    user = world.user("staff_here")
    device = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    RecoveryCode.objects.create(device=device, digest=hash_recovery_code("abcde-fghjk"))

    page.goto("/staff/")
    sign_in_through_form(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(VERIFY_URL)
    enter_second_factor(page, "abcde-fghjk")
    expect(page.get_by_role("heading", level=1, name="Staff area")).to_be_visible()
    assert device.remaining == 0


def test_idle_warning_then_sign_out(page: Page, world: World, settings: Any) -> None:
    settings.SESSION_IDLE_TIMEOUT = 8
    settings.SESSION_IDLE_WARNING = 4
    user = world.user("patient")

    page.goto("/")
    sign_in_through_form(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    expect(page.locator("body")).to_have_attribute("data-idle-timeout", "8")

    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    expect(dialog).to_be_hidden()
    expect(dialog).to_be_visible(timeout=8_000)
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    axe_check(page)

    with page.expect_response(lambda response: response.url.endswith("/session/keepalive/")) as keepalive:
        stay.click()
    assert keepalive.value.status == 200
    assert keepalive.value.json()["signed_in"] is True
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(HOME_URL)

    # No activity now: the page warns again, then leaves just after the server's limit.
    expect(page).to_have_url(LOGIN_URL, timeout=15_000)
    expect(page.get_by_role("status").filter(has_text="signed out because there was no activity")).to_be_visible()
    axe_check(page)

    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("signed out because there was no activity")).to_have_count(0)


def test_phone_width_without_horizontal_scrolling(narrow_page: Page, world: World) -> None:
    page = narrow_page
    user = world.user("patient")

    page.goto("/accounts/login/")
    assert_no_horizontal_scrolling(page, 320)
    axe_check(page)

    sign_in_through_form(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1, name="Hello, Alex")).to_be_visible()
    assert_no_horizontal_scrolling(page, 320)
    axe_check(page)


def test_language_switch_without_javascript_needed(new_page: Any) -> None:
    page = new_page(java_script_enabled=False)
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("es")
    page.locator("form.language-form").get_by_role("button").click()
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_label(re.compile("Language|Idioma"))).to_have_value("es")
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
