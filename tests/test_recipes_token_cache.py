"""helpers/recipes/token_cache.py as a learner uses it: copied alone into an empty folder, run in a
venv with only the pinned libraries against ``python -m helpers.local_okta``, trusting it through
the printed trust lines; and notebook 04's folded solution holds the same code."""

from __future__ import annotations

import json
from pathlib import Path

from recipe_env import local_okta_cli, recipe_python, run_recipe  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "helpers" / "recipes" / "token_cache.py"
NOTEBOOK = ROOT / "notebooks" / "04_fetching_tokens_three_ways.ipynb"

MAIN = """
import os
import requests
from token_cache import TokenCache, TokenRequestError

issuer = os.environ["OAUTH_ISSUER"]
metadata = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
token_url = metadata["token_endpoint"]

sent = []  # count the token requests this process makes
original_send = requests.Session.send
def counting_send(self, request, **kwargs):
    sent.append(request.url)
    return original_send(self, request, **kwargs)
requests.Session.send = counting_send

scope = "calculator.add calculator.subtract"
cache = TokenCache(token_url, os.environ["M2M_CLIENT_ID"], os.environ["M2M_CLIENT_SECRET"], scope)
first, second = cache.get_token(), cache.get_token()
print("token:", first[:7] + "...<" + str(len(first)) + " chars>")
print("same token twice:", first == second)
print("token requests:", sent.count(token_url))
print(cache)

active = requests.post(metadata["introspection_endpoint"], timeout=10,
                       auth=(os.environ["M2M_CLIENT_ID"], os.environ["M2M_CLIENT_SECRET"]),
                       data={"token": first, "token_type_hint": "access_token"}).json()
print("introspection:", active["active"], active["scope"])

wrong = TokenCache(token_url, os.environ["M2M_CLIENT_ID"], os.environ["M2M_CLIENT_SECRET"][:-1], scope)
try:
    wrong.get_token()
except TokenRequestError as error:
    print("wrong secret:", error)
try:
    TokenCache(token_url.replace("https://", "http://"), "id", "secret", scope)
except ValueError as error:
    print("plain http:", error)
"""


def test_the_copied_recipe_gets_one_token_for_two_calls(recipe_python, local_okta_cli):
    env = local_okta_cli.env
    settings = {name: env[name] for name in ("OAUTH_ISSUER", "M2M_CLIENT_ID", "M2M_CLIENT_SECRET",
                                             "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    result = run_recipe(recipe_python, RECIPE, MAIN, settings)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("token: eyJ") and lines[0].endswith(" chars>")
    assert lines[1:4] == ["same token twice: True", "token requests: 1",
                          f"<TokenCache client_id={env['M2M_CLIENT_ID']} scope='calculator.add calculator.subtract' "
                          "cached=True>"]
    assert lines[4] == "introspection: True calculator.add calculator.subtract"
    issuer = env["OAUTH_ISSUER"]
    assert lines[5] == (f"wrong secret: The token endpoint {issuer}/v1/token refused client {env['M2M_CLIENT_ID']}: "
                        "HTTP 401 invalid_client: The client secret supplied for a confidential client is invalid.")
    assert lines[6].startswith("plain http: Refusing to send the client secret to http://")
    assert env["M2M_CLIENT_SECRET"] not in result.stdout + result.stderr
    assert env["M2M_CLIENT_SECRET"][:-1] not in result.stdout + result.stderr


def _code_cells(tag: str) -> list[str]:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and tag in c["metadata"].get("tags", [])]


def _recipe_part(start: str, end: str | None) -> str:
    text = RECIPE.read_text()
    part = text[text.index(start):text.index(end) if end else None]
    return part.strip()


def test_notebook_04s_solution_is_the_recipe_verbatim():
    """The folded solution shows the copyable file's class, and the cell before the exercise its fetch_token."""
    cache_class = _recipe_part("class TokenCache:", None)
    fetching = _recipe_part("class TokenRequestError(RuntimeError):", "class TokenCache:")
    assert any(cache_class in source for source in _code_cells("solution"))
    sources = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert any(fetching in source for source in sources)
