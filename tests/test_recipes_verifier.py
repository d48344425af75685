"""``helpers/recipes/verifier.py`` is one file a learner copies, and notebook 03's solution is that file.

The standalone test copies it into an empty folder outside the repository and runs a ``main.py``
in a venv holding only the pinned libraries, against ``python -m helpers.local_okta`` in another
process, trusting it only through the trust lines that command prints: a client-credentials token
is verified, a tampered one refused, and a FastMCP server protected by the recipe's
``OktaTokenVerifier`` runs a tool for the token and answers 401 to the tampered one.
"""

import ast
import inspect
import re
from pathlib import Path

import nbformat

from helpers.recipes import verifier
from recipe_env import local_okta_cli, recipe_python, run_recipe  # noqa: F401 (pytest fixtures)

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "helpers" / "recipes" / "verifier.py"
NOTEBOOK = ROOT / "notebooks" / "03_adding_jwt_verification.ipynb"

MAIN = r'''
import base64, json, os, socket, threading, time

import jwt
import requests
import uvicorn
from fastmcp import FastMCP
from fastmcp.server.auth import RemoteAuthProvider, require_scopes

from verifier import OktaTokenVerifier, verify_access_token

issuer, audience = os.environ["OAUTH_ISSUER"], os.environ["OAUTH_AUDIENCE"]
metadata = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
answer = requests.post(metadata["token_endpoint"], auth=(os.environ["M2M_CLIENT_ID"], os.environ["M2M_CLIENT_SECRET"]),
                       data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
answer.raise_for_status()
token = answer.json()["access_token"]

jwks_client = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=True, timeout=5)
claims = verify_access_token(token, jwks_client=jwks_client, issuer=issuer, audience=audience)
print("verified:", claims["scp"], claims["cid"] == os.environ["M2M_CLIENT_ID"], claims["aud"] == audience)

header, payload, signature = token.split(".")
edited = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
edited["scp"] = ["calculator.add", "calculator.subtract"]
forged = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
tampered = f"{header}.{forged}.{signature}"
try:
    verify_access_token(tampered, jwks_client=jwks_client, issuer=issuer, audience=audience)
    print("tampered: accepted")
except jwt.PyJWTError as error:
    print("tampered: refused,", type(error).__name__)

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
auth = RemoteAuthProvider(token_verifier=OktaTokenVerifier(issuer=issuer, audience=audience, jwks_uri=metadata["jwks_uri"]),
                          authorization_servers=[issuer], base_url=base_url)
mcp = FastMCP("Calculator", auth=auth)


@mcp.tool(auth=require_scopes("calculator.add"))
def add(a: int, b: int) -> int:
    return a + b


@mcp.tool(auth=require_scopes("calculator.subtract"))
def subtract(a: int, b: int) -> int:
    return a - b


server = uvicorn.Server(uvicorn.Config(mcp.http_app(path="/mcp", stateless_http=True), log_level="warning"))
thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
thread.start()
deadline = time.monotonic() + 20
while not server.started and thread.is_alive() and time.monotonic() < deadline:
    time.sleep(0.05)


def call(tool, bearer):
    response = requests.post(base_url + "/mcp", timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"a": 2, "b": 3}}},
        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json, text/event-stream"})
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    message = json.loads(next(line[6:] for line in response.text.splitlines() if line.startswith("data: ")))
    result = message.get("result", {})
    return "error" if result.get("isError") or "error" in message else f"= {result['structuredContent']['result']}"


print("server add, token:", call("add", token))
print("server add, tampered:", call("add", tampered))
print("server subtract, token:", call("subtract", token))
server.should_exit = True
thread.join(10)
'''


def test_the_copied_recipe_verifies_a_real_token_and_refuses_a_tampered_one(recipe_python, local_okta_cli):
    result = run_recipe(recipe_python, RECIPE, MAIN, local_okta_cli.env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        "verified: ['calculator.add'] True True",
        "tampered: refused, InvalidSignatureError",
        "server add, token: = 5",
        "server add, tampered: HTTP 401",
        "server subtract, token: error",
    ], result.stderr[-2000:]


def test_the_recipe_refuses_to_start_without_its_settings():
    for missing in ("issuer", "audience", "jwks_uri"):
        settings = {"issuer": "https://x.example.com/oauth2/default", "audience": "api://x",
                    "jwks_uri": "https://x.example.com/oauth2/default/v1/keys", missing: ""}
        try:
            verifier.OktaTokenVerifier(**settings)
        except ValueError as error:
            assert "needs issuer, audience and jwks_uri" in str(error)
        else:
            raise AssertionError(f"started without {missing}")


def code_cells():
    return [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code"]


def test_notebook_03s_solution_is_the_recipes_verify_access_token():
    function = inspect.getsource(verifier.verify_access_token)
    solutions = [cell.source for cell in code_cells() if "solution" in cell.metadata.get("tags", [])]
    assert any(function in source for source in solutions), "Exercise 3.1's solution must hold the recipe's function verbatim"


def test_notebook_03_plugs_in_the_recipes_token_verifier_class():
    adapter = inspect.getsource(verifier.OktaTokenVerifier).rstrip("\n")  # the last line of its cell
    cells = [cell.source for cell in code_cells() if not cell.metadata.get("tags")]
    assert any(adapter in source and "MAX_TOKEN_CHARS = 16_384" in source for source in cells)


def test_notebook_03_names_the_file_and_its_length():
    lines = len(RECIPE.read_text().splitlines())
    text = "\n".join(cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "markdown")
    assert re.search(rf"`helpers/recipes/verifier\.py` \({lines} lines", text), f"notebook 03 must say the file has {lines} lines"


def test_the_recipe_stays_small_and_says_what_the_hardened_one_adds():
    source = RECIPE.read_text()
    assert 50 <= len(source.splitlines()) <= 150
    header = ast.get_docstring(ast.parse(source))
    for addition in ("issuer's metadata", "bounded", "remembered", "JSON numbers", "insufficient_scope"):
        assert addition in header, addition
