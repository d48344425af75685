"""The notebooks run through ``.env`` against a server posing as a learner's own Okta org.

Everywhere else the suite runs the notebooks with ``TUTORIAL_AUTH_SERVER=local``: each notebook
starts the local server and knows its tenant. A learner with their own org runs them another
way, and these tests do it that way:

- ``python -m helpers.local_okta --as-tenant`` runs in a subprocess, as in a learner's terminal:
  a tenant with an ``aus...`` authorization server, other client ids and secrets, the MCP
  server's URL as audience, other people as users, keys of its own (:mod:`helpers.local_okta.rehearsal_tenant`);
- the ``.env`` block it prints goes into ``.env`` in a temporary folder outside the repository
  (mode 0600, owned by this user, as ``helpers.settings`` demands), beside a ``notebooks``
  folder holding a copy of the notebook; ``OAUTH_CA_FILE`` in it is the only trust the kernel
  gets (the suite's own ``SSL_CERT_FILE`` & co. are removed from the kernel's environment);
- each notebook runs in a fresh kernel in that ``notebooks`` folder with neither
  ``TUTORIAL_AUTH_SERVER`` nor any ``OAUTH_*`` setting in its environment, so the settings come
  from ``.env`` alone; it must reach its checkpoint and say it used the org from ``.env``
  (``AuthorizationServer.describe``), never that it started the local server.

With a tenant, notebooks 06, 08 and 09 ask a person to sign in: it shows a "Sign in here" link and waits
for the redirect, or (where nothing listens at the redirect URI) asks with ``input()`` for the
address the browser ended on. It calls no ``webbrowser``, so ``BROWSER`` has nothing to catch.
:class:`LearnerAtTheNotebook` plays that person from outside the kernel: it reads each link the
notebook displays, signs in on the tenant's sign-in page as one of the tenant's users (the form
posts of :func:`helpers.local_okta.signin.sign_in`, what a browser sends), follows the redirect
as a browser does, and types the address it ended on when the notebook asks. A link to the
activation page (notebook 08's device sign-in) it approves as the user on their phone would: the
code, the sign-in, *Allow* (:func:`helpers.local_okta.activate.approve`). Nothing in
``helpers`` knows it is there. ``.env`` names the redirect URI with a port of the test's own
(``OAUTH_REDIRECT_URI``, as a learner on a shared host does), and ``TUTORIAL_BROWSER=local``
says the browser is on the kernel's machine (it is).

Adding a notebook is one line in :data:`NOTEBOOKS`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import nbformat
import pytest
import requests
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from loopback import reserve_port
from recipe_env import ROOT, running_local_okta_cli
from helpers.local_okta import LocalOkta, default_tenant
from helpers.local_okta.activate import approve
from helpers.local_okta.signin import sign_in
from helpers.tokens.private_key import write_key_pair
from helpers.local_okta.rehearsal_tenant import REHEARSAL_AUDIENCE, rehearsal_tenant

#: The notebooks run against the tenant, in course order.
NOTEBOOKS = [
    "01_unauthenticated_server.ipynb",
    "02_okta_setup_checks.ipynb",
    "03_adding_jwt_verification.ipynb",
    "04_fetching_tokens_three_ways.ipynb",
    "05_decoding_claims_and_calling_tools.ipynb",
    "06_user_login_and_refresh.ipynb",
    "07_real_mcp_clients_and_okta.ipynb",
    "08_no_browser_no_secret.ipynb",
    "09_ai_agents_acting_for_users.ipynb",
]

#: Settings the test process may hold that would override or bypass what ``.env`` says.
_NOT_FOR_THE_KERNEL = ("TUTORIAL_AUTH_SERVER", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "LOCAL_OKTA_RATE_LIMIT")
_SETTING_PREFIXES = ("OAUTH_", "M2M_", "READ_M2M_", "CLIENT_")


@pytest.fixture(scope="module")
def calculator_port():
    """The port of the calculator's URL, held for this module: the tenant's audience names it (notebook 07)."""
    with reserve_port() as reservation:
        yield reservation.port


@pytest.fixture(scope="module")
def tenant(calculator_port, tmp_path_factory):
    """``python -m helpers.local_okta --as-tenant`` in a subprocess for this module's tests. As a learner
    did in the console, the calculator's audience is the calculator's URL (notebook 07: ``--audience``),
    and the private-key apps (notebooks 08 and 09) hold public keys the learner made: ``--client-key``
    registers them, and the ``.env`` block names the private key files."""
    keys = tmp_path_factory.mktemp("learner-keys")
    client_keys = []
    for label in ("key_service", "ai_agent"):
        write_key_pair(keys / label)
        client_keys += ["--client-key", f"{label}={keys / label / 'public_jwk.json'}"]
    with running_local_okta_cli("--as-tenant", "--audience", f"http://127.0.0.1:{calculator_port}/mcp", *client_keys) as cli:
        yield cli


def env_block(lines: list[str]) -> str:
    """The lines the CLI prints for ``.env``: from after "Paste into .env" to the first blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Paste into .env")) + 1
    while not lines[start].strip():
        start += 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return "\n".join(lines[start:end]) + "\n"


@pytest.fixture(scope="module")
def redirect_port():
    """The port of the web app's redirect URI, held for this module (see tests/loopback.py)."""
    with reserve_port() as reservation:
        yield reservation.port


@pytest.fixture(scope="module")
def mcp_redirect_port():
    """The port of the MCP client app's redirect URI (notebook 07's FastMCP OAuth listens there)."""
    with reserve_port() as reservation:
        yield reservation.port


@pytest.fixture(scope="module")
def learner_folder(tenant, redirect_port, mcp_redirect_port, tmp_path_factory) -> Path:
    """A learner's project outside the repository: ``.env`` (0600) and an empty ``notebooks`` folder."""
    folder = tmp_path_factory.mktemp("learner-project")
    with os.fdopen(os.open(folder / ".env", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as env_file:
        env_file.write(env_block(tenant.lines) + f"OAUTH_REDIRECT_URI=http://127.0.0.1:{redirect_port}/callback\n"
                       f"MCP_REDIRECT_URI=http://127.0.0.1:{mcp_redirect_port}/callback\n")
    (folder / "notebooks").mkdir()
    assert not folder.resolve().is_relative_to(ROOT)
    return folder


def kernel_environment() -> dict[str, str]:
    """This process's environment without anything that would decide the settings or the trust."""
    env = {name: value for name, value in os.environ.items()
           if name not in _NOT_FOR_THE_KERNEL and not name.startswith(_SETTING_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)  # the helpers package of this checkout
    env["TUTORIAL_BROWSER"] = "local"  # the "browser" below runs on this machine
    return env


#: The link a notebook shows a person who must sign in (``helpers.display.sign_in_markdown`` and notebook 06).
_SIGN_IN_LINK = re.compile(r"\[Sign in here\]\((https://[^)\s]+)\)")


class LearnerAtTheNotebook(NotebookClient):
    """A notebook client with a person in front of it: one who clicks each "Sign in here" link the
    notebook displays, signs in on the page it opens, and answers ``input()`` with the address the
    browser ended on. ``login``/``password``: one of the tenant's users; ``verify``: the CA bundle
    that trusts the tenant (the browser's trust store)."""

    def __init__(self, *args, login: str, password: str, verify: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.login, self.password, self.verify = login, password, verify
        self.addresses: queue.Queue[str] = queue.Queue()  # "cannot connect" pages' addresses, to paste
        self.links: list[str] = []  # every sign-in link the notebook showed
        self.sign_ins = 0  # sign-ins that ended in a redirect back
        self.failures: list[str] = []  # what went wrong in the browser (the test fails on any)
        self._answering: asyncio.Task | None = None

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        kc.allow_stdin = True  # this front end answers input(), as JupyterLab does
        self._answering = asyncio.ensure_future(self._answer_input_requests())
        return kc

    async def _answer_input_requests(self) -> None:
        while True:
            try:
                msg = await self.kc.stdin_channel.get_msg(timeout=0.2)
            except queue.Empty:
                continue
            if msg["msg_type"] == "input_request":
                try:
                    address = await asyncio.to_thread(self.addresses.get, True, 60)
                except queue.Empty:
                    self.failures.append(f"asked {msg['content']['prompt']!r}, but no sign-in ended on a page to copy")
                    address = ""
                self.kc.input(address)

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "display_data":
            for url in _SIGN_IN_LINK.findall(msg["content"]["data"].get("text/markdown", "")):
                self.links.append(url)
                threading.Thread(target=self._click, args=(url,), daemon=True).start()
        return super().process_message(msg, cell, cell_index)

    def _click(self, url: str) -> None:
        """What a browser does with the link: the sign-in page, then the redirect it answers with."""
        try:
            with requests.Session() as browser:
                browser.trust_env = False  # its own trust store (requests' REQUESTS_CA_BUNDLE would win over verify)
                browser.verify = self.verify
                if urlsplit(url).path == "/activate":  # a device sign-in: enter the code, sign in, Allow
                    approve(url, self.login, password=self.password, session=browser)
                    self.sign_ins += 1
                    return
                address = sign_in(url, self.login, self.password, session=browser)
                self.sign_ins += 1
                try:
                    browser.get(address, allow_redirects=False, timeout=10)  # the gateway's listener, if any
                except requests.ConnectionError:  # nothing listens: "cannot connect", the address to copy
                    self.addresses.put(address)
        except Exception as exc:  # noqa: BLE001 - reported by the test, never lost in a thread
            self.failures.append(f"{type(exc).__name__}: {exc}")

    async def _async_cleanup_kernel(self) -> None:
        if self._answering is not None:
            self._answering.cancel()
        await super()._async_cleanup_kernel()


def test_the_rehearsal_tenant_differs_from_the_default_in_what_an_org_makes_its_own():
    default, rehearsal = default_tenant(), rehearsal_tenant()
    assert [s.id[:3] for s in rehearsal.authorization_servers] == ["aus"] * len(default.authorization_servers)
    assert all(len(s.id) == 20 for s in rehearsal.authorization_servers)
    assert rehearsal.authorization_servers[0].audience == REHEARSAL_AUDIENCE != default.authorization_servers[0].audience
    assert [a.label for a in rehearsal.apps] == [a.label for a in default.apps]  # every app comes along
    assert not {a.client_id for a in rehearsal.apps} & {a.client_id for a in default.apps}
    assert all(a.client_id.startswith("0oa") and len(a.client_id) == 20 for a in rehearsal.apps)
    assert not {u.login for u in rehearsal.users} & {u.login for u in default.users}
    assert not {u.uid for u in rehearsal.users} & {u.uid for u in default.users}
    web = rehearsal.app(label="web")
    assert set(web.assigned_users) == {u.login for u in rehearsal.users}
    assert rehearsal_tenant().apps[0].client_id != rehearsal.apps[0].client_id  # new ids per start


def test_a_local_okta_with_the_rehearsal_tenant_describes_its_aus_server():
    okta = LocalOkta(rehearsal_tenant())  # not started: everything below is read from the tenant
    server_id = okta.tenant.authorization_servers[0].id
    assert okta.issuer == f"{okta.url}/oauth2/{server_id}" and okta.audience == REHEARSAL_AUDIENCE
    assert okta.jwks_uri == okta.issuer + "/v1/keys" and okta.token_endpoint == okta.issuer + "/v1/token"
    claims = {"iss": okta.issuer, "aud": okta.audience, "sub": "x", "iat": 0, "exp": 4102444800}
    token = okta.sign_token(claims)
    assert jwt.get_unverified_header(token)["kid"] == okta.signing_kids()[-1]
    assert jwt.decode(token, okta.public_key_pem(), algorithms=["RS256"], audience=REHEARSAL_AUDIENCE) == claims
    assert okta.settings().m2m_client.client_id == okta.tenant.app(label="write_service").client_id
    mcp_issuer = okta.add_mcp_resource("https://calculator.example.org/other-mcp")  # its scopes: the calculator's
    assert mcp_issuer.endswith("/oauth2/aus1calcmcpserver7q2") and okta.issuer.endswith(server_id)


def test_records_that_name_a_server_or_an_app_by_id_follow_the_new_ids(monkeypatch):
    # Such as an AI agent's resource connections (they name an authorization server by id).
    from helpers.local_okta import rehearsal_tenant as module
    from helpers.local_okta.tenant import Tenant

    @dataclasses.dataclass
    class Link:
        server: str
        client: str
        user: str
        note: str = "calculator"

    @dataclasses.dataclass
    class LinkedTenant(Tenant):
        links: list = dataclasses.field(default_factory=list)

    def linked(redirect_uris):
        base = default_tenant(redirect_uris)
        return LinkedTenant(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Tenant)},
                            links=[Link("default", base.app(label="web").client_id, base.users[0].login)])

    monkeypatch.setattr(module, "default_tenant", linked)
    tenant = module.rehearsal_tenant()
    link = tenant.links[0]
    assert (link.server, link.client, link.user, link.note) == (
        tenant.authorization_servers[0].id, tenant.app(label="web").client_id, tenant.users[0].login, "calculator")


def test_the_cli_prints_an_env_block_for_the_posing_tenant(tenant, calculator_port):
    assert "/oauth2/aus" in tenant.env["OAUTH_ISSUER"] and "/oauth2/default" not in "\n".join(tenant.lines)
    assert tenant.env["OAUTH_AUDIENCE"] == f"http://127.0.0.1:{calculator_port}/mcp"  # --audience, as set in the console
    defaults = {a.client_id for a in default_tenant().apps}
    for name in ("M2M_CLIENT_ID", "READ_M2M_CLIENT_ID", "CLIENT_ID", "MCP_CLIENT_ID"):
        assert tenant.env[name].startswith("0oa") and tenant.env[name] not in defaults
    assert len(tenant.users) == 2 and not {login for login, _ in tenant.users} & {u.login for u in default_tenant().users}
    assert any(line.startswith("Posing as your own Okta org") for line in tenant.lines)


def test_as_tenant_refuses_a_scenario_with_a_clear_message():
    done = subprocess.run([sys.executable, "-m", "helpers.local_okta", "--as-tenant", "--scenario", "audience_mismatch"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "--scenario works on the tutorial's default tenant only" in done.stderr
    assert "Traceback" not in done.stderr


def run_as_the_learner(notebook, tenant, folder: Path) -> LearnerAtTheNotebook:
    """Execute ``notebook`` in a fresh kernel in ``folder``, the tenant's first user at the keyboard."""
    login, password = tenant.users[0]
    client = LearnerAtTheNotebook(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                                  login=login, password=password, verify=tenant.env["REQUESTS_CA_BUNDLE"])
    client.execute(env=kernel_environment())  # raises CellExecutionError at the first failing cell
    return client


def test_a_notebook_that_assumes_the_local_server_fails_here(tenant, learner_folder):
    # What this module exists to catch: code that works only because the suite forces the local server.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from helpers.authorization_server import connect_authorization_server\n"
        "auth_server = connect_authorization_server()\n"
        "print(auth_server.describe())\n"
        "print(auth_server.local.users[0].login)  # the default tenant's test user"
    )])
    with pytest.raises(CellExecutionError, match="AttributeError"):
        run_as_the_learner(notebook, tenant, learner_folder / "notebooks")
    assert "(from .env and environment)" in notebook.cells[0].outputs[0]["text"]


@pytest.mark.timeout(300)  # a whole notebook in a fresh kernel
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_through_env_against_the_tenant(name, tenant, learner_folder):
    copy = learner_folder / "notebooks" / name
    shutil.copy(ROOT / "notebooks" / name, copy)
    notebook = nbformat.read(copy, as_version=4)
    started = time.monotonic()
    client = run_as_the_learner(notebook, tenant, copy.parent)
    print(f"{name}: {time.monotonic() - started:.1f} s against the tenant, {client.sign_ins} sign-in(s) by the learner")
    assert client.failures == [] and client.sign_ins == len(client.links)
    text = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)
    assert not [o for cell in notebook.cells for o in cell.get("outputs", []) if o["output_type"] == "error"]
    if "connect_authorization_server()" in "".join(cell.source for cell in notebook.cells):
        assert f"Using the Okta authorization server {tenant.env['OAUTH_ISSUER']} (from .env and environment)." in text
    assert "Using the local Okta-compatible authorization server" not in text
    checkpoint = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    assert "✅ Checkpoint passed" in "".join(output.get("text", "") for output in checkpoint.outputs)
