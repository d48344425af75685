"""Many learners on one host: no fixed port two kernels could both want.

The gateway of notebook 06 listens for the sign-in redirect on a free port of its own
(``http://127.0.0.1:0/callback``: port 0 becomes the port the listener got), and the local
authorization server accepts a registered loopback IP redirect URI on any port, as RFC 8252
section 7.3 asks. Okta compares redirect URIs exactly, so with a tenant the gateway uses the one
registered (``OAUTH_REDIRECT_URI``); these tests hold the local side and the settings to that.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from helpers.local_okta.redirects import is_registered_redirect_uri
from helpers.okta_checks import run_checks
from helpers.settings import ANY_PORT_REDIRECT_URI, REGISTERED_REDIRECT_URI, ConfigurationError, load_settings
from helpers.user_login import LoginError, UserLogin, sign_in_with_password

REGISTERED = ("http://127.0.0.1:8765/callback", "http://localhost:8765/callback", "http://[::1]:8765/callback")
TENANT = {"OAUTH_ISSUER": "https://integrator-1.okta.com/oauth2/default", "OAUTH_AUDIENCE": "api://default",
          "M2M_CLIENT_ID": "0oa1", "M2M_CLIENT_SECRET": "s"}


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1:8765/callback", "http://127.0.0.1:51234/callback", "http://127.0.0.1:1/callback",
    "http://[::1]:40000/callback", "http://localhost:8765/callback",
])
def test_a_registered_loopback_ip_uri_is_accepted_on_any_port(uri):
    assert is_registered_redirect_uri(uri, REGISTERED)


@pytest.mark.parametrize("uri", [
    "http://localhost:51234/callback",          # localhost: exact match only (RFC 8252, 8.3)
    "http://127.0.0.1:51234/other",             # another path
    "http://127.0.0.1:51234/callback?x=1",      # another query
    "http://127.0.0.1/callback",                # no port
    "http://127.0.0.1:0/callback",              # port 0 is not a port a browser can reach
    "http://127.0.0.1:70000/callback",          # no such port
    "https://127.0.0.1:51234/callback",         # another scheme
    "http://evil@127.0.0.1:51234/callback",     # user info
    "http://127.0.0.1:51234/callback#x",        # a fragment
    "http://127.0.0.1:51234\\@evil.example/callback",  # read two ways by two parsers
    "http://127.0.0.2:51234/callback",          # another address
])
def test_anything_else_must_match_exactly(uri):
    assert not is_registered_redirect_uri(uri, REGISTERED)


def authorize(okta, redirect_uri: str) -> requests.Response:
    settings = okta.settings()
    return requests.get(f"{settings.issuer}/v1/authorize", params={
        "client_id": settings.web_client.client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": redirect_uri, "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }, allow_redirects=False, timeout=10)


def test_the_local_server_shows_its_sign_in_page_for_a_learners_own_port(okta_server):
    page = authorize(okta_server, "http://127.0.0.1:51234/callback")
    assert page.status_code == 200 and "password" in page.text
    refused = authorize(okta_server, "http://localhost:51234/callback")
    assert refused.status_code == 400
    assert "redirect_uri&#x27; parameter must be a Login redirect URI in the client app settings" in refused.text


@pytest.fixture(scope="module")
def okta_server():
    from helpers.local_okta import start_local_okta

    okta = start_local_okta(name="shared-host-okta")
    yield okta
    okta.stop()


@pytest.fixture(scope="module")
def calculator(okta_server):
    from helpers.calculator import start_calculator
    from helpers.verification import Protection

    server = start_calculator(Protection.from_settings(okta_server.settings()), name="shared-host-calculator")
    yield server
    server.stop()


@pytest.mark.anyio
async def test_two_gateways_wait_for_redirects_at_once_on_their_own_ports(okta_server, calculator):
    settings = okta_server.settings()
    assert settings.redirect_uri == ANY_PORT_REDIRECT_URI
    gateways = [UserLogin(calculator.mcp_url, settings.require_web_client(), issuer=settings.issuer) for _ in range(2)]
    pendings = [gateway.begin(timeout=30, listener_name=f"shared-host-{n}") for n, gateway in enumerate(gateways)]
    ports = {int(p.redirect_uri.rsplit(":", 1)[1].split("/")[0]) for p in pendings}
    assert len(ports) == 2 and 0 not in ports
    assert all(p.is_listening for p in pendings)
    user = okta_server.users[0]
    for pending in reversed(pendings):
        sign_in_with_password(pending, user.login, user.password)
    for pending in pendings:
        tokens = await pending.wait()
        assert "calculator.add" in tokens.scopes


def test_a_sign_in_without_a_listener_needs_a_registered_port(okta_server, calculator):
    settings = okta_server.settings()
    gateway = UserLogin(calculator.mcp_url, settings.require_web_client(), issuer=settings.issuer)
    with pytest.raises(LoginError, match="port 0 .* no listener"):
        gateway.begin(listen=False)
    fixed = UserLogin(calculator.mcp_url, settings.require_web_client(), issuer=settings.issuer,
                      redirect_uri=REGISTERED_REDIRECT_URI)
    assert fixed.begin(listen=False).redirect_uri == REGISTERED_REDIRECT_URI


# One learner's kernel: its own local authorization server, calculator and gateway; it starts
# its sign-in, says where it listens, waits until the other kernel listens too, then signs in.
KERNEL = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    from helpers.authorization_server import connect_authorization_server
    from helpers.calculator import start_calculator
    from helpers.user_login import UserLogin, sign_in_with_password
    from helpers.verification import Protection

    auth_server = connect_authorization_server()
    settings = auth_server.settings
    server = start_calculator(Protection.from_settings(settings))
    gateway = UserLogin(server.mcp_url, settings.require_web_client(), issuer=settings.issuer,
                        redirect_uri=settings.redirect_uri)
    pending = gateway.begin(timeout=60)
    Path(sys.argv[1]).write_text(pending.redirect_uri)
    deadline = time.monotonic() + 60
    while not Path(sys.argv[2]).exists():
        assert time.monotonic() < deadline, "the other kernel never listened"
        time.sleep(0.05)
    assert pending.is_listening
    user = auth_server.local.users[0]
    sign_in_with_password(pending, user.login, user.password)
    tokens = asyncio.run(pending.wait())
    print("signed in", " ".join(sorted(tokens.scopes)))
""")


def test_two_kernels_on_one_host_sign_in_at_the_same_time(tmp_path: Path):
    env = {**__import__("os").environ, "TUTORIAL_AUTH_SERVER": "local"}
    files = [tmp_path / "first", tmp_path / "second"]
    kernels = [
        subprocess.Popen([sys.executable, "-c", KERNEL, str(mine), str(theirs)], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for mine, theirs in (files, files[::-1])
    ]
    outputs = [kernel.communicate(timeout=120) for kernel in kernels]
    for kernel, (out, err) in zip(kernels, outputs):
        assert kernel.returncode == 0, err[-2000:]
        assert out.startswith("signed in") and "calculator.add" in out
    uris = [path.read_text() for path in files]
    assert uris[0] != uris[1], "both kernels listened on the same redirect URI"


def test_oauth_redirect_uri_is_the_registered_one_with_a_tenant():
    assert load_settings(TENANT, env_file="").redirect_uri == REGISTERED_REDIRECT_URI
    own = load_settings({**TENANT, "OAUTH_REDIRECT_URI": "http://127.0.0.1:8701/callback"}, env_file="")
    assert own.redirect_uri == "http://127.0.0.1:8701/callback"
    assert load_settings({}, env_file="").redirect_uri == ANY_PORT_REDIRECT_URI


@pytest.mark.parametrize("value", ["http://gateway.example.com/callback", "http://127.0.0.1/callback",
                                   "http://127.0.0.1:0/callback", "127.0.0.1:8701"])
def test_an_unusable_oauth_redirect_uri_says_what_to_give(value):
    with pytest.raises(ConfigurationError, match="OAUTH_REDIRECT_URI=.*exactly as registered in Okta"):
        load_settings({**TENANT, "OAUTH_REDIRECT_URI": value}, env_file="")


def test_the_setup_checks_check_the_learners_own_redirect_uri(okta_server):
    report = run_checks(okta_server.settings(), timeout=10)
    assert report["redirect_uri"].passed
    assert "http://127.0.0.1:8765/callback" in report["redirect_uri"].seen
