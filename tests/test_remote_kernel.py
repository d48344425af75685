"""A learner whose browser is not on the kernel's machine can finish notebook 06.

Such a browser cannot reach the gateway's listener on the kernel's ``127.0.0.1``: after signing
in it shows a "cannot connect" page, and the learner pastes that page's address into the
notebook. ``browser_elsewhere`` guesses the situation from the host's environment; the notebook's
sign-in cell then asks for the address. These tests run that cell as a remote learner would.
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.user_login import browser_elsewhere

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "06_user_login_and_refresh.ipynb"


@pytest.mark.parametrize("environ, reason", [
    ({"CODESPACES": "true"}, "GitHub Codespaces"),
    ({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}, "JupyterHub"),
    ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, "Binder"),
    ({"COLAB_RELEASE_TAG": "release"}, "Google Colab"),
    ({"SSH_CONNECTION": "10.0.0.2 52100 10.0.0.1 22"}, "over SSH"),
    ({"TUTORIAL_BROWSER": "remote"}, "TUTORIAL_BROWSER=remote"),
])
def test_the_signs_of_a_remote_kernel_are_recognised(environ, reason):
    assert reason in browser_elsewhere(environ)


def test_a_kernel_on_the_learners_own_machine_is_not_remote():
    assert browser_elsewhere({"HOME": "/home/ada", "CODESPACES": "false"}) is None
    assert browser_elsewhere({"SSH_CONNECTION": "10.0.0.2 52100 10.0.0.1 22", "TUTORIAL_BROWSER": "local"}) is None


def test_an_unknown_choice_says_what_to_use():
    with pytest.raises(ValueError, match="TUTORIAL_BROWSER='phone' is not understood: use 'local', 'remote'"):
        browser_elsewhere({"TUTORIAL_BROWSER": "phone"})


# Stands in for the learner: `input()` is answered by a browser on "another machine", which signs
# in on the sign-in page and ends on the redirect address without ever reaching the listener.
REMOTE_LEARNER = '''
from helpers.local_okta.signin import sign_in as _browser_signs_in

SIGN_IN_MYSELF = True  # the learner's switch, set for the sign-in cell below

def input(prompt=""):
    user = auth_server.local.users[0]
    address = _browser_signs_in(pending.url, user.login, user.password)
    assert pending.is_listening, "the redirect must not have reached the listener"
    print(prompt + "(pasted)")
    return "  " + address + "\\n"  # as pasted: with spaces and a line break
'''


def test_notebook_06_signs_in_through_a_pasted_address_when_the_browser_is_remote():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    sign_in = next(i for i, cell in enumerate(cells) if "browser_elsewhere()" in cell.source)
    cells = cells[: sign_in + 1]
    assert any("SIGN_IN_MYSELF = False" in cell.source for cell in cells), "the switch the learner turns on"
    cells.insert(len(cells) - 1, nbformat.v4.new_code_cell(REMOTE_LEARNER))
    remote = nbformat.v4.new_notebook(metadata=notebook.metadata, cells=cells)
    env = {"TUTORIAL_AUTH_SERVER": "local", "TUTORIAL_BROWSER": "remote"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(remote, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    shown = "".join(output.get("text", "") for output in remote.cells[-1].outputs if output.output_type == "stream")
    assert "Your browser is probably on another machine: TUTORIAL_BROWSER=remote says so." in shown
    assert "The address your browser ended on: (pasted)" in shown
    assert "Signed in. The gateway stored:" in shown
    assert "listening for the redirect: False" in shown


# With a tenant and DEVICE_CLIENT_ID, the sign-in cell signs in with a device code instead of asking
# for a pasted address. The cell runs here as written, in a namespace where a second local server
# poses as the tenant (``is_local`` False) and a "phone" approves the code the cell printed.
def test_notebook_06_signs_in_with_a_device_code_when_the_browser_is_remote_and_the_app_allows_it(capsys, monkeypatch):
    import ast
    import asyncio
    import threading
    import time
    from types import SimpleNamespace

    from helpers.calculator import start_calculator
    from helpers.local_okta import start_local_okta
    from helpers.local_okta.activate import approve
    from helpers.user_login import UserLogin
    from helpers.verification import Protection

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    source = next(cell.source for cell in notebook.cells if cell.cell_type == "code" and "browser_elsewhere()" in cell.source)
    tenant = start_local_okta(name="test-remote-kernel-device-tenant")
    server = start_calculator(Protection.from_settings(tenant.settings()), name="test-remote-kernel-device-calculator")
    monkeypatch.setenv("TUTORIAL_BROWSER", "remote")
    try:
        settings = tenant.settings()
        web_gateway = UserLogin(server.mcp_url, settings.require_web_client(), issuer=settings.issuer)
        pending = web_gateway.begin(timeout=60, listener_name="test-remote-kernel-device-listener")

        def phone():  # the learner, on another device, once the cell has shown a code
            for _ in range(200):
                codes = [r.user_code for r in list(tenant.device_flow.codes.values()) if r.status == "pending"]
                if codes:
                    approve(f"{tenant.url}/activate?user_code={codes[0]}", tenant.users[0])
                    return
                time.sleep(0.05)

        threading.Thread(target=phone, daemon=True).start()
        namespace = {"auth_server": SimpleNamespace(is_local=False), "settings": settings, "SIGN_IN_MYSELF": False,
                     "pending": pending, "gateway": web_gateway, "server": server, "UserLogin": UserLogin,
                     "display": print, "Markdown": str, "user": tenant.users[0]}
        code = compile(source, "sign-in cell", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    finally:
        server.stop()
        tenant.stop()
    shown = capsys.readouterr().out
    assert "Signing in with a device code instead." in shown and f"{tenant.url}/activate" in shown
    assert "The address your browser ended on" not in shown and "Signed in. The gateway stored:" in shown
    assert namespace["gateway"].client == settings.device_client and namespace["gateway"].signed_in
    assert pending.done and not pending.is_listening
