"""The walkthrough as a learner meets it: JupyterLab in headless Chromium, every notebook run
through the UI ("Run All Cells"), no cell showing an error, every mermaid diagram drawn.

nbval proves the notebooks' outputs; this proves what nbval cannot see: that JupyterLab opens
them, its kernel runs them to the end, and the diagrams render. JupyterLab serves a copy of the
notebooks (so autosave cannot touch the committed ones) with its own settings (every cell
rendered, no news pop-up), on 127.0.0.1 and a port the operating system picks. Uses the
``playwright`` package with the system's Chromium, as ``test_browser_sign_in.py`` does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
import requests

from test_browser_sign_in import CHROMIUM_ARGS, chromium_path

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SETTINGS = {
    # Render every cell (JupyterLab 4 otherwise draws only the cells in view).
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


class Lab:
    """A JupyterLab server in a subprocess, rooted at a copy of the notebooks."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        for name, values in SETTINGS.items():
            path = home / "settings" / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.token = secrets.token_hex(16)
        env = {
            **os.environ,
            "TUTORIAL_AUTH_SERVER": "local",
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             "--ServerApp.port=0", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.log: list[str] = []
        found = threading.Event()
        self.url = ""

        def read_log() -> None:
            for line in self.process.stderr:  # keep reading, or a full pipe would block the server
                self.log.append(line)
                match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read_log, daemon=True).start()
        if not found.wait(120) or not self.url:
            self.stop()
            raise RuntimeError("JupyterLab did not start:\n" + "".join(self.log[-30:]))

    def shut_down_kernels(self) -> None:
        headers = {"Authorization": f"token {self.token}"}
        for session in requests.get(f"{self.url}/api/sessions", headers=headers, timeout=10).json():
            requests.delete(f"{self.url}/api/sessions/{session['id']}", headers=headers, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, root)
    lab = Lab(root, tmp_path_factory.mktemp("lab-home"))
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser test needs the playwright package: pip install -r requirements-dev.txt")
    if chromium_path() is None:
        pytest.skip("the browser test needs Chromium at /usr/bin/chromium (Debian/Ubuntu: apt-get install "
                    "chromium) or CHROMIUM_PATH set to a Chromium binary")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel && kernel.status === 'idle';
}"""
# What the notebook's model says (the cells as JupyterLab holds them, hidden inputs included).
ALL_RUN = """(count) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const counts = panel.content.widgets.filter(c => c.model.type === 'code').map(c => c.model.executionCount);
    return panel.sessionContext.session.kernel.status === 'idle' && counts.length === count && counts.every(n => n);
}"""
SEEN = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const outputs = panel.content.widgets.filter(c => c.model.type === 'code').flatMap(c => c.model.outputs.toJSON());
    const node = panel.node;
    return {
        counts: panel.content.widgets.filter(c => c.model.type === 'code').map(c => c.model.executionCount),
        errors: outputs.filter(o => o.output_type === 'error' || o.name === 'stderr')
            .map(o => (o.ename ? o.ename + ': ' + o.evalue : String(o.text)).slice(0, 500)),
        shown: [...node.querySelectorAll('.jp-OutputArea-output')]
            .filter(e => /stderr|error/.test(e.getAttribute('data-mime-type') || '')).length,
        diagrams: node.querySelectorAll('.jp-RenderedMermaid').length,
        drawn: node.querySelectorAll('.jp-RenderedMermaid svg, .jp-RenderedMermaid img[src^="data:image/svg"]').length,
        failed: [...node.querySelectorAll('.jp-RenderedMermaid')].filter(e => /warning|error/i.test(e.className)).length,  // a parse error: jp-mod-warning
    };
}"""


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_a_learner_runs_the_notebook_in_jupyterlab(lab, chromium, notebook):
    source = nbformat.read(notebook, as_version=4)
    code_cells = sum(cell.cell_type == "code" for cell in source.cells)
    diagrams = sum(cell.source.count("```mermaid") for cell in source.cells if cell.cell_type == "markdown")
    diagrams += sum("text/vnd.mermaid" in output.get("data", {})  # a wire trace's drawing (wire.show())
                    for cell in source.cells if cell.cell_type == "code" for output in cell.outputs)
    page = chromium.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{lab.url}/lab/tree/{notebook.name}?reset&token={lab.token}")
        page.wait_for_function(KERNEL_IDLE)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_RUN, arg=code_cells, timeout=300_000, polling=500)
        page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget.node"
                               f".querySelectorAll('.jp-RenderedMermaid svg, .jp-RenderedMermaid img').length >= {diagrams}",
                               timeout=60_000)
        seen = page.evaluate(SEEN)
    finally:
        page.close()
        lab.shut_down_kernels()
    assert len(seen["counts"]) == code_cells and all(seen["counts"]), "not every cell ran"
    assert seen["counts"] == sorted(seen["counts"]), "the cells did not run in order"
    assert seen["errors"] == [] and seen["shown"] == 0, f"{notebook.name} shows errors: {seen['errors']}"
    assert seen["diagrams"] == diagrams and seen["drawn"] >= diagrams and seen["failed"] == 0, "a diagram was not drawn"


def test_the_series_has_diagrams_to_draw():
    """The diagram check above is not empty: most notebooks draw at least one mermaid diagram."""
    drawn = [path.name for path in NOTEBOOKS if "```mermaid" in path.read_text()]
    assert len(drawn) >= 4, drawn


WIRE_CELL = """\
import requests
from helpers.local_okta import start_local_okta
from helpers.wire_trace import WireTrace

okta = start_local_okta(name="lab-wire-okta")
m2m = okta.clients["write_service"]
with WireTrace(actors={okta.issuer: "Okta"}, secrets=[m2m.client_secret]) as wire:
    requests.post(okta.token_endpoint, auth=(m2m.client_id, m2m.client_secret),
                  data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=10)
    requests.get(okta.authorization_endpoint + "?response_type=code&state=xyz#frag", allow_redirects=False, timeout=10)
okta.stop()
wire.show()
"""


DRAWN_OUTPUT = ".jp-OutputArea-output.jp-RenderedMermaid svg, .jp-OutputArea-output.jp-RenderedMermaid img[src^=\"data:image/svg\"]"


def test_a_wire_trace_is_drawn_in_jupyterlab(lab, chromium):
    """What ``wire.show()`` outputs (helpers/wire_trace.py) is drawn by JupyterLab as a sequence diagram."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIRE_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / "wire_trace_drawing.ipynb")
    page = chromium.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab.url}/lab/tree/wire_trace_drawing.ipynb?reset&token={lab.token}")
        page.wait_for_function(KERNEL_IDLE)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_RUN, arg=1, polling=250)
        page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget.node.querySelector('{DRAWN_OUTPUT}')",
                               timeout=20_000)
        seen = page.evaluate(SEEN)
        drawn = page.evaluate(f"""() => {{  // JupyterLab shows the SVG as an <img> with a data: URL
            const image = window.jupyterapp.shell.currentWidget.node.querySelector('{DRAWN_OUTPUT}');
            return image.src ? decodeURIComponent(image.src) : image.outerHTML;
        }}""")
    finally:
        page.close()
        lab.shut_down_kernels()
    assert seen["errors"] == [] and seen["failed"] == 0, seen
    assert seen["drawn"] == 1, "the trace was not drawn as one mermaid diagram"
    for words in ("Notebook", "Okta", "POST /oauth2/default/v1/token", "Basic client credentials", "200 access_token=…",
                  "GET /oauth2/default/v1/authorize?response_type=code&amp;state=…#…"):
        assert f">{words}" in drawn, f"{words!r} is not a label in the drawing"
