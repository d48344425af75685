"""The copied device sign-in recipe works on its own: a fresh venv, an empty folder, the local server.

``main.py`` is what a learner writes beside the copied ``device_signin.py``: read the endpoints from
the issuer's metadata, start a device sign-in with the Native app (``DEVICE_CLIENT_ID``), and poll
while a headless "phone" enters the code on the activation page, signs in as the test user and
approves; then a second sign-in the phone denies. Only what ``python -m helpers.local_okta``
printed reaches the process. The polls wait the real interval (5 s): the server counts.
"""

from pathlib import Path

from recipe_env import local_okta_cli, recipe_python, run_recipe  # noqa: F401 - pytest fixtures

RECIPE = Path(__file__).resolve().parent.parent / "helpers" / "recipes" / "device_signin.py"

MAIN = r'''
import os
import re
import threading
from urllib.parse import urljoin

import requests

from device_signin import DeviceSignInError, poll_for_token, start_device_sign_in

issuer = os.environ["OAUTH_ISSUER"]
metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
client_id = os.environ["DEVICE_CLIENT_ID"]


def phone(url, decision):
    """The person, on another device: the code, the sign-in form, then Allow or Don't Allow."""
    field = lambda page, name: re.search(rf'name="{name}" value="([^"]*)"', page.text).group(1)
    with requests.Session() as http:
        page = http.get(url, timeout=10)
        page = http.post(urljoin(url, "/activate"), data={"step": "code", "user_code": field(page, "user_code")}, timeout=10)
        page = http.post(urljoin(url, "/activate"), timeout=10, data={
            "transaction": field(page, "transaction"), "step": "sign_in",
            "username": os.environ["TEST_USER"], "password": os.environ["TEST_PASSWORD"]})
        http.post(urljoin(url, "/activate"), timeout=10, data={
            "transaction": field(page, "transaction"), "step": "consent", "decision": decision})


started = start_device_sign_in(metadata["device_authorization_endpoint"], client_id, "openid offline_access calculator.add")
print("show:", started["verification_uri"].startswith("https://127.0.0.1:"), len(started["user_code"]), started["interval"])
threading.Thread(target=phone, args=(started["verification_uri_complete"], "allow")).start()
tokens = poll_for_token(metadata["token_endpoint"], client_id, started["device_code"], started["interval"])
print("tokens:", sorted(tokens))

denied = start_device_sign_in(metadata["device_authorization_endpoint"], client_id, "openid")
threading.Thread(target=phone, args=(denied["verification_uri_complete"], "deny")).start()
try:
    poll_for_token(metadata["token_endpoint"], client_id, denied["device_code"], denied["interval"])
except DeviceSignInError as error:
    print("denied:", error.error, "-", error, "- device code shown:", denied["device_code"] in str(error))
try:
    start_device_sign_in(metadata["device_authorization_endpoint"], os.environ["CLIENT_ID"], "openid")
except DeviceSignInError as error:
    print("web app:", error.error)
'''


def test_the_copied_recipe_signs_in_by_device_and_stops_on_a_denial(recipe_python, local_okta_cli):
    login, password = local_okta_cli.users[0]
    env = {**local_okta_cli.env, "TEST_USER": login, "TEST_PASSWORD": password}
    result = run_recipe(recipe_python, RECIPE, MAIN, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "show: True 8 5",
        "tokens: ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']",
        "denied: access_denied - the person (or the authorization server) denied the device sign-in - device code shown: False",
        "web app: unauthorized_client",
    ]


def test_the_notebook_solution_is_the_recipe_verbatim():
    """Notebook 08's folded solution of Exercise 8.1 holds the recipe's loop and its error, as they are."""
    import inspect
    import json

    from helpers.recipes import device_signin

    notebook = RECIPE.parents[2] / "notebooks" / "08_no_browser_no_secret.ipynb"
    solutions = ["".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"]
                 if "solution" in cell["metadata"].get("tags", []) and "def poll_for_token" in "".join(cell["source"])]
    assert len(solutions) == 1
    for piece in (device_signin.DeviceSignInError, device_signin.poll_for_token):
        assert inspect.getsource(piece).rstrip("\n") in solutions[0], f"{piece.__name__} differs from the recipe"
    assert f'DEVICE_GRANT = "{device_signin.DEVICE_GRANT}"' in solutions[0]
