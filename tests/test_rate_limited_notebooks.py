"""Notebooks 04-06 under Okta's rate limits (issue 22, acceptance of #9).

Each notebook runs top to bottom under nbclient with the local server's rate-limit scenario on
(``LOCAL_OKTA_RATE_LIMIT=4/5``: four requests per client per endpoint in each five-second
window, so ``X-Rate-Limit-Reset`` is at most 5 s ahead; the kernel inherits the variable and
``connect_authorization_server()`` starts its local server with it). Then the server's own
count is read in the same kernel: the most 429s one client got from one endpoint before a
reset must be 1 (a client that retried before the reset would get a second). No cell may
fail (a dropped user token would: the gateway raises when it has none), and the clients'
"rate limited by Okta, retry after N s" message shows where they waited.

The clients under test are this repository's (``TokenManager``, ``UserLogin``, the fetch
functions). Cells whose hand-written requests *are* the lesson (the three ways of notebook 04,
the exercises' own ``requests.post``, the learner's ``TokenCache`` of Exercise 4.4 as the recipe
has it, notebook 06's replay scene; 04's renewal demo, which asserts the exact number of token
requests: under the limit a renewal is put off while the token is valid) show the protocol, not a
client that handles 429s: they run with the limit suspended (``rate_limit_suspended()``), and
the test lists them. A notebook that handles a 429 in such a cell itself can drop its marker.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
LIMIT = "4/5"
#: What marks a cell of hand-written requests to the authorization server (see the docstring).
RAW_REQUESTS = ("requests.post(", "OAuth2Session(", "run_in_bash(", "replay(", "TokenCache(",
                "set_access_token_lifetime(")  # 04's renewal demo asserts its exact request count
REPORT = (
    "import json\n"
    "print('RATE LIMIT REPORT', json.dumps({'most 429s before one reset': auth_server.local.rate_limit_report(),"
    " 'requests': dict(auth_server.local.request_counts)}))\n"
)


def run_rate_limited(name: str, monkeypatch) -> tuple[dict, list[str]]:
    """Run the notebook's code cells with the scenario on; the server's report and every output text."""
    path = next(NOTEBOOKS.glob(f"{name}_*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    raw = [index for index, cell in enumerate(notebook.cells)
           if any(marker in cell.source for marker in RAW_REQUESTS) and not cell.source.startswith("%")]
    for index in raw:
        cell = notebook.cells[index]
        body = "\n".join("    " + line if line else line for line in cell.source.splitlines())
        cell.source = f"with auth_server.local.rate_limit_suspended():  # hand-written requests\n{body}\n"
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    monkeypatch.setenv("LOCAL_OKTA_RATE_LIMIT", LIMIT)  # the kernel inherits it
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    texts = [output.get("text", "") for cell in notebook.cells for output in cell.outputs]
    line = next(text for text in texts if text.startswith("RATE LIMIT REPORT"))
    report = json.loads(line.removeprefix("RATE LIMIT REPORT"))
    print(path.name, report, f"(code cells {raw} ran with the limit suspended)")  # the counts, for the log
    return report, texts


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["04", "05", "06"])
def test_notebook_runs_under_the_rate_limit_scenario(name, monkeypatch):
    report, texts = run_rate_limited(name, monkeypatch)
    assert all(count <= 1 for count in report["most 429s before one reset"].values()), report
    dropped = ("sign the user in again", "single use", "already used")  # what a 429 read as a refusal said
    assert not [text for text in texts if "exceeded rate limit" in text and any(words in text for words in dropped)]
    waited = [text for text in texts if "rate limited by Okta, retry after" in text]
    if report["most 429s before one reset"]:
        assert waited, "a client got a 429 and said nothing"
