"""The grader of notebook 07's RFC 9207 exercise (``helpers/graders/iss_check.py``).

The reference (``helpers/recipes/iss_check.py``) passes every row; the stub fails with a "still
returns nothing" message; each typical wrong version gets the row it should, and no other.
"""

from __future__ import annotations

import ast
import hmac
import json
from pathlib import Path

import pytest

from helpers.exercises import ExerciseFeedback
from helpers.graders.iss_check import CODE, check_iss, grade_iss_check
from helpers.recipes import iss_check as recipe_module
from helpers.recipes.iss_check import check_authorization_response

ROWS = ["exact issuer", "trailing slash", "capital letters", "default port", "missing iss, advertised", "missing iss, not advertised",
        "other issuer, not advertised", "wrong state", "error with a wrong iss", "error from the right issuer",
        "no code in messages"]


def failing(rows):
    return [row.name for row in rows if not row.passed]


def _state_ok(params, expected_state):
    return hmac.compare_digest(params.get("state", "").encode(), expected_state.encode())


def normalising(params, expected_state, expected_issuer, iss_advertised):
    if not _state_ok(params, expected_state):
        raise ValueError("state")
    iss = params.get("iss")
    if iss is None and iss_advertised:
        raise ValueError("missing iss")
    if iss is not None and iss.rstrip("/").lower() != expected_issuer.rstrip("/").lower():
        raise ValueError("wrong iss")
    if "error" in params:
        raise ValueError(params["error"])
    return params["code"]


def only_when_advertised(params, expected_state, expected_issuer, iss_advertised):
    if not _state_ok(params, expected_state):
        raise ValueError("state")
    if iss_advertised and params.get("iss") != expected_issuer:
        raise ValueError("wrong or missing iss")
    if "error" in params:
        raise ValueError(params["error"])
    return params["code"]


def missing_is_fine(params, expected_state, expected_issuer, iss_advertised):
    if not _state_ok(params, expected_state):
        raise ValueError("state")
    if "iss" in params and params["iss"] != expected_issuer:
        raise ValueError("wrong iss")
    if "error" in params:
        raise ValueError(params["error"])
    return params["code"]


def error_first(params, expected_state, expected_issuer, iss_advertised):
    if not _state_ok(params, expected_state):
        raise ValueError("state")
    if "error" in params:
        raise ValueError(f"{params['error']}: {params.get('error_description')}")
    return check_authorization_response(params, expected_state, expected_issuer, iss_advertised)


def chatty(params, expected_state, expected_issuer, iss_advertised):
    try:
        return check_authorization_response(params, expected_state, expected_issuer, iss_advertised)
    except Exception as exc:
        raise ValueError(f"{exc} (response: {params})") from None


def no_state_check(params, expected_state, expected_issuer, iss_advertised):
    return check_authorization_response({**params, "state": expected_state}, expected_state, expected_issuer, iss_advertised)


def ignores_error(params, expected_state, expected_issuer, iss_advertised):
    if not _state_ok(params, expected_state):
        raise ValueError("state")
    iss = params.get("iss")
    if (iss is None and iss_advertised) or (iss is not None and iss != expected_issuer):
        raise ValueError("wrong or missing iss")
    return params.get("code")  # never looks at error: a refused sign-in returns None


def unnamed_error(params, expected_state, expected_issuer, iss_advertised):
    try:
        return check_authorization_response(params, expected_state, expected_issuer, iss_advertised)
    except Exception:
        raise ValueError("refused") from None


def test_the_reference_passes_every_row():
    rows = grade_iss_check(check_authorization_response)
    assert [row.name for row in rows] == ROWS and failing(rows) == []


def test_the_reference_passes_the_check_cell(capsys):
    check_iss(check_authorization_response)
    assert "✅" in capsys.readouterr().out


def test_the_stub_is_told_it_returns_nothing():
    def stub(params, expected_state, expected_issuer, iss_advertised):
        ...
    with pytest.raises(ExerciseFeedback, match="still returns nothing"):
        check_iss(stub)


def test_accepting_everything_fails_every_refusal():
    rows = grade_iss_check(lambda params, *rest: params.get("code"))
    assert failing(rows) == ["trailing slash", "capital letters", "default port", "missing iss, advertised",
                             "other issuer, not advertised", "wrong state", "error with a wrong iss",
                             "error from the right issuer"]


@pytest.mark.parametrize("wrong, rows", [
    (normalising, ["trailing slash", "capital letters"]),
    (only_when_advertised, ["other issuer, not advertised"]),
    (missing_is_fine, ["missing iss, advertised"]),
    (error_first, ["error with a wrong iss"]),
    (chatty, [n for n in ROWS if n not in ("exact issuer", "missing iss, not advertised", "error from the right issuer")]),  # shows code and lure (that row has no code)
    (no_state_check, ["wrong state"]),
    (ignores_error, ["error from the right issuer"]),
    (unnamed_error, ["error from the right issuer"]),
])
def test_a_typical_mistake_gets_its_row(wrong, rows):
    got = grade_iss_check(wrong)
    assert sorted(failing(got)) == sorted(rows)
    assert all(row.why and row.fix for row in got if not row.passed)
    assert all(CODE not in row.got for row in got)


def test_feedback_names_the_row_and_never_the_code(capsys):
    with pytest.raises(ExerciseFeedback) as caught:
        check_iss(normalising, exercise="Exercise test-iss")
    text = f"{caught.value.problem} {caught.value.hint} {caught.value.fix}"
    assert "trailing slash" in text and CODE not in text and CODE not in capsys.readouterr().out


def test_the_prediction_is_compared_first_and_confirmed_after_the_code(capsys):
    right = {"default port": True, "missing iss, not advertised": False, "other issuer, not advertised": True}
    assert [row.name for row in check_iss(check_authorization_response, predicted=right)] == ROWS
    assert "as you predicted" in capsys.readouterr().out
    with pytest.raises(ExerciseFeedback, match="must_refuse"):
        check_iss(check_authorization_response, predicted={name: ... for name in right})
    with pytest.raises(ExerciseFeedback, match="you predicted") as caught:
        check_iss(check_authorization_response, predicted={**right, "missing iss, not advertised": True})
    assert "only where the metadata promises it" in caught.value.hint


def test_a_wrong_prediction_is_told_before_any_row_gives_the_answer(capsys):
    """The table's expected column holds the answers: with a wrong prediction and wrong code it
    must not be printed before the prediction is graded."""
    wrong = {"default port": False, "missing iss, not advertised": False, "other issuer, not advertised": False}
    with pytest.raises(ExerciseFeedback, match="you predicted"):
        check_iss(normalising, exercise="Exercise test-iss-prediction", predicted=wrong)
    out = capsys.readouterr().out
    assert "raises" not in out and "returns the code" not in out


def test_the_predicted_cases_are_not_the_demonstrated_ones():
    """The notebook's cell before the exercise shows a trailing slash, capitals and a promised
    missing iss being refused: none of them may be a predicted row."""
    from helpers.graders.iss_check import PREDICTED
    assert not {"trailing slash", "capital letters", "missing iss, advertised"} & set(PREDICTED)


NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07_real_mcp_clients_and_okta.ipynb"


def test_the_notebooks_folded_solution_is_the_recipe_verbatim():
    recipe = Path(recipe_module.__file__).read_text()
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    solution = next("".join(c["source"]) for c in cells
                    if "solution" in c["metadata"].get("tags", []) and "def check_authorization_response" in "".join(c["source"]))
    for name in ("AuthorizationResponseError", "check_authorization_response"):
        node = next(n for n in ast.parse(recipe).body if getattr(n, "name", None) == name)
        assert "\n".join(recipe.splitlines()[node.lineno - 1: node.end_lineno]) in solution, name
    stub = next("".join(c["source"]) for c in cells
                if "exercise" in c["metadata"].get("tags", []) and "def check_authorization_response" in "".join(c["source"]))
    given = recipe.splitlines()
    start = next(i for i, line in enumerate(given) if line.startswith("def check_authorization_response"))
    state_check = "\n".join(given[start: start + 6])  # the signature, docstring and the state check: given
    assert state_check in stub and "iss" not in stub.split(state_check)[1].split("#")[0]
    assert stub.rstrip().endswith("...  # your part: iss (the table above), then error, then the code")
