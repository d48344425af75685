"""benchmarks/requests_per_notebook.py counts what a notebook sends the local server, restarts and resets included."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import requests_per_notebook  # noqa: E402

CELL = '''
import requests
from helpers.local_okta import start_local_okta

def token(okta):
    client = okta.clients["write_service"]
    answer = requests.post(okta.token_endpoint, auth=(client.client_id, client.client_secret),
                           data={"grant_type": "client_credentials", "scope": "calculator.add"}, timeout=20)
    assert answer.status_code == 200

okta = start_local_okta(name="counted")
token(okta); token(okta)
requests.get(okta.jwks_uri, timeout=20)
okta.reset()                              # zeroes the server's own counts, not the tally
okta = start_local_okta(name="counted")   # a new server, new state
token(okta)
okta.stop()
'''


def test_it_counts_every_request_across_restarts_and_resets(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = new_notebook(cells=[new_code_cell(CELL)],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, folder / "09_counted.ipynb")
    assert requests_per_notebook.main(["--notebooks", str(folder), "--json", str(tmp_path / "out.json")]) == 0
    counts = json.loads((tmp_path / "out.json").read_text())
    assert counts == {"09_counted": {"keys": 1, "token": 3}}
    out = capsys.readouterr().out
    assert "| 09_counted | 3 | 0 | 1 | 0 | 0 | 4 |" in out
    assert nbformat.read(folder / "09_counted.ipynb", as_version=4).cells[0].source == CELL, "the file is unchanged"


def test_no_notebook_is_one_line(tmp_path, capsys):
    assert requests_per_notebook.main(["--notebooks", str(tmp_path), "--json", str(tmp_path / "x.json")]) == 1
    assert capsys.readouterr().err.startswith("requests_per_notebook: no notebooks")
