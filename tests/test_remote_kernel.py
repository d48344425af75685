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
