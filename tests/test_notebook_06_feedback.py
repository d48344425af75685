"""Notebook 06's checks answer a learner's wrong tries as the learner sees them, in a real kernel.

Exercise 6.2 (the sign-in built by the learner): a `handle_redirect` that ignores `state` is told
that the forged redirect got in, and nothing else failed. Exercise 6.3 (a replayed refresh token):
a replay without the app's client authentication is stopped with what is wrong, instead of being
played out as a scene whose explanation then contradicts what was printed; a replay sent as JSON
is told to send form fields.
"""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "06_user_login_and_refresh.ipynb"

IGNORES_STATE = '''
def handle_redirect(app, redirect_url, expected_state, verifier):
    """A learner's first try: exchanges whatever code comes back."""
    query = dict(parse_qsl(urlsplit(redirect_url).query))
    if "error" in query:
        raise SignInError(f"The sign-in was refused: {query['error']}: {query.get('error_description', '')}")
    return post_to_token_endpoint(app, {"grant_type": "authorization_code", "code": query["code"],
                                        "redirect_uri": app.redirect_uri, "code_verifier": verifier})
'''

REPLAY_WITHOUT_AUTH = '''
def replay(copied_refresh_token):
    """A learner's first try: no client authentication."""
    return requests.post(gateway.token_endpoint, timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": copied_refresh_token})
'''

REPLAY_AS_JSON = '''
def replay(copied_refresh_token):
    """A learner's try: the fields as JSON instead of form fields."""
    return requests.post(gateway.token_endpoint, auth=(web.client_id, web.client_secret), timeout=10,
                         json={"grant_type": "refresh_token", "refresh_token": copied_refresh_token})
'''


def text_of(cell):
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(output.ename + ": " + output.evalue)
    return "".join(parts)


def test_wrong_tries_of_exercises_6_2_and_6_3_get_feedback_that_names_the_mistake():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    check_6_2 = next(i for i, c in enumerate(cells) if "check_sign_in(" in c.source and "check" in c.metadata.get("tags", []))
    check_6_3 = next(i for i, c in enumerate(cells) if '"Exercise 6.3"' in c.source and "check" in c.metadata.get("tags", []))
    wrong_6_2, wrong_6_3 = nbformat.v4.new_code_cell(IGNORES_STATE), nbformat.v4.new_code_cell(REPLAY_WITHOUT_AUTH)
    retry_6_3 = nbformat.v4.new_code_cell(cells[check_6_3].source)
    still = nbformat.v4.new_code_cell('print("frugal still signed in:", frugal.signed_in)')
    run = (cells[:check_6_2] + [wrong_6_2, cells[check_6_2]] + cells[check_6_2 - 1: check_6_2 + 1]
           + cells[check_6_2 + 1: check_6_3] + [wrong_6_3, cells[check_6_3], still, retry_6_3]
           + [nbformat.v4.new_code_cell(REPLAY_AS_JSON), cells[check_6_3]])
    run = [nbformat.v4.new_code_cell(cell.source) for cell in run]
    test_notebook = nbformat.v4.new_notebook(metadata=notebook.metadata, cells=run)
    saved = os.environ.get("TUTORIAL_AUTH_SERVER")
    os.environ["TUTORIAL_AUTH_SERVER"] = "local"  # the kernel inherits this process's environment
    try:
        NotebookClient(test_notebook, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        os.environ.pop("TUTORIAL_AUTH_SERVER") if saved is None else os.environ.__setitem__("TUTORIAL_AUTH_SERVER", saved)
    outputs = [text_of(cell) for cell in test_notebook.cells]
    first_6_2 = outputs[check_6_2 + 1]
    assert "ExerciseFeedback: Exercise 6.2: 3 of 11 checks failed: wrong state, missing state, error with wrong state." in first_6_2
    assert "accepted: returned tokens" in first_6_2
    assert "login CSRF" in first_6_2 and "Fix:" not in first_6_2  # the specific fix waits for a second wrong try
    assert "✅ Exercise 6.2" in outputs[check_6_2 + 3]  # the solution, run again, passes
    first_6_3, after, second_6_3, _, as_json = outputs[-5:]
    assert "ExerciseFeedback: Exercise 6.3: the token endpoint answered HTTP 401 invalid_client" in first_6_3
    assert "did not authenticate the app" in first_6_3 and "NoneType" not in first_6_3
    assert after == "frugal still signed in: True\n"
    assert "Fix: add `auth=(web.client_id, web.client_secret)`" in second_6_3  # the second wrong try names the change
    assert "Exercise 6.3: your request sent its fields as JSON" in as_json
    assert "send form fields (data=), not JSON (json=)" in as_json and "not a refresh at the token endpoint" not in as_json
