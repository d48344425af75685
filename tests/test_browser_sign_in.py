"""A person signs in: the local sign-in page driven in real headless Chromium.

From the authorization link a gateway shows, through the sign-in form and the consent page,
to the gateway's callback listener, which exchanges the code: the path a learner clicks
through in notebook 06. Uses the Python ``playwright`` package with the system's Chromium
(Debian's ``chromium`` package; ``.ci/run`` installs it). Without either, the tests skip and
say what to install.
"""

from __future__ import annotations

import os
import shutil

import jwt
import pytest

from loopback import reserve_port
from helpers.calculator import start_calculator
from helpers.local_okta import default_tenant, start_local_okta
from helpers.local_tls import local_ca
from helpers.user_login import ConsentDeniedError, UserLogin
from helpers.verification import Protection

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


#: The redirect URI's port, held for the whole run (a listener binds it once per sign-in):
#: no other process can take it between two sign-ins (see tests/loopback.py).
REDIRECT_PORT = reserve_port()
REDIRECT = f"http://127.0.0.1:{REDIRECT_PORT.port}/callback"


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser test needs the playwright package: pip install -r requirements-dev.txt")
    if chromium_path() is None:
        pytest.skip(
            "the browser test needs Chromium at /usr/bin/chromium (Debian/Ubuntu: "
            "apt-get install chromium) or CHROMIUM_PATH set to a Chromium binary"
        )
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(sync_playwright, tmp_path):
    """A fresh headless Chromium profile (its own user-data-dir) for one test."""
    context = sync_playwright.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=chromium_path(),
        headless=True,
        # Trust exactly the local authorization server's key (it is HTTPS, like Okta): a pin,
        # not a switch that turns certificate checks off.
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={local_ca().server_spki_sha256}"],
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def okta():
    tenant = default_tenant(redirect_uris=(REDIRECT,))
    tenant.app(label="web").consent_required = True  # an app that asks for consent: the page a person sees
    server = start_local_okta(tenant=tenant, name="test-browser-okta")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calculator(okta):
    server = start_calculator(Protection.from_settings(okta.settings()), name="test-browser-calculator")
    yield server
    server.stop()


@pytest.fixture
def login(okta, calculator):
    return UserLogin(calculator.mcp_url, okta.clients["web"], issuer=okta.issuer, redirect_uri=REDIRECT)


def submit_sign_in_form(page, username: str, password: str) -> None:
    assert page.locator("h1").inner_text() == "Sign In"
    assert "CalculatorMCPClient" in page.locator("p.sub").inner_text()
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_a_person_signs_in_with_chromium(browser, login, okta):
    ada = next(user for user in okta.users if user.login == "ada@example.com")
    pending = login.begin(timeout=30, listener_name="test-browser-callback")
    page = browser.new_page()
    page.goto(pending.url)  # the link the notebook shows

    submit_sign_in_form(page, ada.login, "a wrong password")
    assert "Unable to sign in" in page.locator("p.error").inner_text()
    submit_sign_in_form(page, ada.login, ada.password)

    page.wait_for_selector("text=Allow access?")
    assert "Signed in as Ada Lovelace" in page.content()
    scopes = page.locator("li code").all_inner_texts()
    assert {"offline_access", "calculator.add", "calculator.subtract"} <= set(scopes)
    page.click("button[value=allow]")

    page.wait_for_selector("#message")
    assert page.url.startswith(REDIRECT + "?")  # the browser landed on the gateway's callback
    assert page.locator("h1").inner_text() == "Signed in"
    assert "You can close this tab" in page.locator("#message").inner_text()
    browser.close()  # like closing the tab: the browser lets go of the listener's connection

    tokens = pending.wait_blocking(timeout=10)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert (claims["sub"], claims["uid"]) == (ada.login, ada.uid)
    assert tokens.refresh_token and not pending.is_listening


def test_a_person_who_denies_consent(browser, login, okta):
    alan = next(user for user in okta.users if user.login == "alan@example.com")
    pending = login.begin(timeout=30, listener_name="test-browser-callback")
    page = browser.new_page()
    page.goto(pending.url)
    submit_sign_in_form(page, alan.login, alan.password)
    page.wait_for_selector("text=Allow access?")
    page.click("button[value=deny]")

    page.wait_for_selector("#message")
    assert page.locator("h1").inner_text() == "Sign-in failed"
    assert "did not allow access" in page.locator("#message").inner_text()
    browser.close()

    with pytest.raises(ConsentDeniedError):
        pending.wait_blocking(timeout=10)
    assert login.tokens is None and not pending.is_listening
