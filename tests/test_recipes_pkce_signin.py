"""The copied PKCE sign-in recipe works on its own: a fresh venv, an empty folder, the local server.

``main.py`` is what a learner writes beside the copied ``pkce_signin.py``: read the endpoints from
the issuer's metadata, sign the test user in with ``sign_in()`` (its loopback listener receives the
redirect), refresh, and try a forged redirect. The "browser" is headless: it opens the authorize
URL, posts the test user's username and password on the local sign-in page as a browser would, and
follows the redirect to the listener. Only the settings and trust lines ``python -m
helpers.local_okta`` printed reach the process.
"""

import socket
from pathlib import Path

from recipe_env import local_okta_cli, recipe_python, run_recipe  # noqa: F401 - pytest fixtures

RECIPE = Path(__file__).resolve().parent.parent / "helpers" / "recipes" / "pkce_signin.py"

MAIN = r'''
import os
import re
import sys
import threading
from html import unescape
from urllib.parse import urljoin

import requests

from pkce_signin import SignInError, WebApp, handle_redirect, make_pkce_pair, refresh, sign_in

issuer = os.environ["OAUTH_ISSUER"]
metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
app = WebApp(
    authorization_endpoint=metadata["authorization_endpoint"], token_endpoint=metadata["token_endpoint"],
    client_id=os.environ["CLIENT_ID"], client_secret=os.environ["CLIENT_SECRET"],
    redirect_uri=f"http://127.0.0.1:{sys.argv[1]}/callback", scope="openid offline_access calculator.add",
)
browser_done = threading.Event()


def browser(url):
    """A headless browser: the sign-in form, the test user's credentials, then the redirect."""
    with requests.Session() as http:
        page = http.get(url, timeout=10)
        action = unescape(re.search(r'<form method="post" action="([^"]*)"', page.text).group(1))
        form = {name: unescape(value) for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text)}
        form.update(username=os.environ["TEST_USER"], password=os.environ["TEST_PASSWORD"])
        answer = http.post(urljoin(url, action), data=form, allow_redirects=False, timeout=10)
        http.get(answer.headers["Location"], timeout=10)  # to the recipe's listener on 127.0.0.1
    browser_done.set()


def mask(token):
    return f"{token[:6]}...<{len(token)} chars>"


tokens = sign_in(app, open_browser=lambda url: threading.Thread(target=browser, args=(url,)).start(), timeout=30)
print("signed in: access", mask(tokens["access_token"]), "- refresh token:", bool(tokens.get("refresh_token")))
print("browser saw the listener's page:", browser_done.wait(10))
renewed = refresh(app, tokens["refresh_token"])
print("refreshed: new access token", renewed["access_token"] != tokens["access_token"],
      "- rotated refresh token", renewed["refresh_token"] != tokens["refresh_token"])
try:
    refresh(app, "not-a-refresh-token")
except SignInError as error:
    print("bad refresh token:", error)
verifier, _ = make_pkce_pair()
try:
    handle_redirect(app, f"{app.redirect_uri}?code=stolen&state=forged", "the-state-we-sent", verifier)
except SignInError as error:
    print("forged redirect:", error)
'''


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_copied_recipe_signs_in_refreshes_and_refuses_a_forged_redirect(recipe_python, local_okta_cli):
    login, password = local_okta_cli.users[0]
    env = {**local_okta_cli.env, "TEST_USER": login, "TEST_PASSWORD": password}
    result = run_recipe(recipe_python, RECIPE, MAIN, env, args=(str(free_port()),))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Sign in here (waiting up to 30 s): https://127.0.0.1:")
    assert "code_challenge_method=S256" in lines[0] and "state=" in lines[0]
    assert lines[1].startswith("signed in: access eyJ") and lines[1].endswith("- refresh token: True")
    assert lines[2:] == [
        "browser saw the listener's page: True",
        "refreshed: new access token True - rotated refresh token True",
        "bad refresh token: The token endpoint refused the refresh_token grant: invalid_grant: The refresh token is invalid or expired.",
        "forged redirect: The redirect's state is not this sign-in's (forged or stale): start a new sign-in.",
    ]
    assert local_okta_cli.env["CLIENT_SECRET"] not in result.stdout + result.stderr
