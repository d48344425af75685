"""Notebook 09 at a learner's pace: an ID-JAG lives 5 minutes, and a learner takes longer than that.

Between section 3 (the first ID-JAG) and section 4 (presenting one) a learner reads, predicts and
does Exercise 9.1: 12 to 15 minutes. An ID-JAG requested in section 3 has expired by then, so every
cell that presents an ID-JAG must request its own, right before. This test runs the notebook's code
cells in one kernel and moves the local server's ID-JAG clock (the org server that issues them and
the custom server that checks them, :mod:`helpers.local_okta.token_exchange` and
:mod:`helpers.local_okta.jwt_bearer`) 6 minutes on before section 4, and again before section 5.
A cell that redeems an ID-JAG from an earlier section then fails with Okta's "The id-jag is
expired." and the checkpoint is never reached.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "09_ai_agents_acting_for_users.ipynb"

# Six minutes later, on the local server's ID-JAG clock (issuer and checker agree, as with real time).
TIME_PASSES = """\
import time as _real_time
import types as _types

import requests as _requests
from helpers.agent_exchange import token_endpoint_of as _endpoint_of
from helpers.local_okta import jwt_bearer as _jwt_bearer, token_exchange as _token_exchange

_offset = getattr(_jwt_bearer.time, "offset", 0) + 360
_jwt_bearer.time = _token_exchange.time = _types.SimpleNamespace(
    time=lambda offset=_offset: _real_time.time() + offset, offset=_offset)
# The control: the ID-JAG the notebook holds so far is expired on the moved clock.
_endpoint = _endpoint_of(id_jag.audience)
_old = _requests.post(_endpoint, timeout=10, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                   "assertion": id_jag.token, **agent.client_assertion(_endpoint)})
print("earlier ID-JAG:", _old.json().get("error_description"))
"""

PUT_BACK = """\
import time as _real_time
from helpers.local_okta import jwt_bearer as _jwt_bearer, token_exchange as _token_exchange

_jwt_bearer.time = _token_exchange.time = _real_time
"""


def cells_with_time_passing() -> list:
    """The notebook's code cells, with six minutes passing before sections 4 and 5."""
    cells, pending = [], 0
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith(("## 4.", "## 5.")):
            pending += 1
        elif cell.cell_type == "code":
            if pending:
                cells.append(nbformat.v4.new_code_cell(TIME_PASSES))
                pending = 0
            cells.append(cell)
    cells.insert(len(cells) - 1, nbformat.v4.new_code_cell(PUT_BACK))  # before the checkpoint stops the servers
    return cells


@pytest.mark.timeout(300)
def test_every_id_jag_the_notebook_presents_is_fresh_after_a_learners_pause():
    notebook = nbformat.v4.new_notebook(metadata=nbformat.read(NOTEBOOK, as_version=4).metadata)
    notebook.cells = cells_with_time_passing()
    assert sum(cell.source == TIME_PASSES for cell in notebook.cells) == 2
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # CellExecutionError (e.g. invalid_grant: The id-jag is expired.) on a stale ID-JAG
    text = "".join(o.get("text", "") for cell in notebook.cells for o in cell.outputs)
    assert text.count("earlier ID-JAG: The id-jag is expired.") == 2  # the clock did move, twice
    assert "the same ID-JAG again:" in text and "already used" in text  # a replay, not an expiry
    assert "Checkpoint passed" in text
