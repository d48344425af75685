"""The ID-JAG exercise's grader: the solution passes every row, a stub fails, and each typical slip
fails the row named for it (with feedback that names what went wrong, never the answer)."""

import pytest
import requests

from helpers.exercises import ExerciseFeedback
from helpers.graders.id_jag import check_id_jag_exchange, grade_id_jag_exchange
from helpers.graders.report import failed
from helpers.local_okta import start_local_okta

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFUSALS = ["a replayed ID-JAG", "an ID-JAG for another audience"]


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="local-okta-id-jag-grader-test")
    yield local
    local.stop()


def solution(token_endpoint, id_jag, client_assertion):
    """A right answer of the exercise's shape (the folded solution is the recipe's step 2, tested below)."""
    response = requests.post(token_endpoint, data={"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion},
                             timeout=10)
    if response.status_code != 200:
        error = response.json()
        raise RuntimeError(f"Okta refused the ID-JAG: {error.get('error')}: {error.get('error_description')}")
    return response.json()


def names(rows):
    return [row.name for row in failed(rows)]


def test_the_solution_passes_every_row(okta, capsys):
    rows = check_id_jag_exchange(solution, okta=okta)
    assert len(rows) == 5 and not failed(rows)
    assert "✅" in capsys.readouterr().out


def test_the_committed_stub_is_not_a_wrong_try(okta):
    def stub(token_endpoint, id_jag, client_assertion):
        response = ...
        return ...

    with pytest.raises(ExerciseFeedback) as raised:
        check_id_jag_exchange(stub, okta=okta)
    assert "still returns `...`" in str(raised.value) and raised.value.try_number == 0


def test_a_do_nothing_function_fails_every_row(okta):
    assert names(grade_id_jag_exchange(lambda *args: None, okta)) == [
        "a fresh ID-JAG", "the token: sub and cid", *REFUSALS, "the refusal's message"]


def test_returning_the_error_body_as_if_it_were_a_token(okta):
    """The typical slip: `return response.json()` whatever the status."""

    def no_check(token_endpoint, id_jag, client_assertion):
        return requests.post(token_endpoint, data={"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion},
                             timeout=10).json()

    rows = grade_id_jag_exchange(no_check, okta)
    assert names(rows) == [*REFUSALS, "the refusal's message"]
    replay = next(row for row in rows if row.name == "a replayed ID-JAG")
    assert "The id-jag was already used." in replay.why and "status_code" in replay.fix


def test_sending_a_scope_is_named(okta):
    def with_scope(token_endpoint, id_jag, client_assertion):
        return solution(token_endpoint, id_jag, {**client_assertion, "scope": "calculator.add"})

    rows = grade_id_jag_exchange(with_scope, okta)
    fresh = next(row for row in rows if row.name == "a fresh ID-JAG")
    assert not fresh.passed and "'scope'" in fresh.why


def test_a_message_that_shows_the_id_jag_or_says_nothing(okta):
    def leaky(token_endpoint, id_jag, client_assertion):
        try:
            return solution(token_endpoint, id_jag, client_assertion)
        except RuntimeError:
            raise RuntimeError(f"could not exchange {id_jag}") from None

    def silent(token_endpoint, id_jag, client_assertion):
        response = requests.post(token_endpoint, data={"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion},
                                 timeout=10)
        response.raise_for_status()
        return response.json()

    leaky_rows, silent_rows = grade_id_jag_exchange(leaky, okta), grade_id_jag_exchange(silent, okta)
    assert names(leaky_rows) == ["the refusal's message"] and failed(leaky_rows)[0].got == "shows a token"
    assert names(silent_rows) == ["the refusal's message"] and failed(silent_rows)[0].got == "does not say why"


def test_feedback_names_the_rows_without_the_answer(okta):
    def no_check(token_endpoint, id_jag, client_assertion):
        return requests.post(token_endpoint, data={"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion},
                             timeout=10).json()

    with pytest.raises(ExerciseFeedback) as raised:
        check_id_jag_exchange(no_check, okta=okta, exercise="Exercise test-id-jag")
    message = str(raised.value)
    assert "a replayed ID-JAG" in message and "urn:ietf" not in message


def test_the_recipes_step_2_passes_every_row(okta):
    from helpers.recipes.agent_token_exchange import exchange_for_access_token

    assert [row.name for row in check_id_jag_exchange(exchange_for_access_token, okta=okta) if not row.passed] == []


def test_the_notebook_solution_is_the_recipe_verbatim():
    """Notebook 09's folded solution of Exercise 9.1 holds the recipe's step 2, its error and its one post, as they are."""
    import inspect
    import json
    from pathlib import Path

    from helpers.recipes import agent_token_exchange as recipe

    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "09_ai_agents_acting_for_users.ipynb"
    solutions = ["".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"]
                 if "solution" in cell["metadata"].get("tags", []) and "def exchange_for_access_token" in "".join(cell["source"])]
    assert len(solutions) == 1
    for piece in (recipe.AgentExchangeError, recipe.exchange_for_access_token, recipe._post):
        assert inspect.getsource(piece).rstrip("\n") in solutions[0], f"{piece.__name__} differs from the recipe"
    assert f'JWT_BEARER = "{recipe.JWT_BEARER}"' in solutions[0]


def form_as_json(token_endpoint, id_jag, client_assertion):
    """A request Okta refuses before it looks at the ID-JAG: JSON instead of a form."""
    response = requests.post(token_endpoint, json={"grant_type": JWT_BEARER, "assertion": id_jag, **client_assertion},
                             timeout=10)
    if response.status_code != 200:
        error = response.json()
        raise RuntimeError(f"{error.get('error')}: {error.get('error_description')}")
    return response.json()


def nested_assertion(token_endpoint, id_jag, client_assertion):
    return solution(token_endpoint, id_jag, {"client_assertion": str(client_assertion)})


@pytest.mark.parametrize("exchange, okta_said, fix", [
    (form_as_json, "must specify a 'grant_type'", "not json="),
    (nested_assertion, "The client_assertion_type is invalid.", "**client_assertion"),
])
def test_a_wrong_request_is_named_with_what_okta_answered(okta, exchange, okta_said, fix):
    """The request is wrong and the function raises with Okta's reason: the fresh row quotes Okta and says
    what to change; the message row does not blame a message that does say why."""
    rows = grade_id_jag_exchange(exchange, okta)
    assert names(rows) == ["a fresh ID-JAG", "the token: sub and cid"]
    fresh = rows[0]
    assert "Okta refused the request" in fresh.why and "invalid_request" in fresh.why and okta_said in fresh.why and fix in fresh.fix
    assert next(row for row in rows if row.name == "the refusal's message").got == "says why"


def test_okta_is_not_quoted_when_the_message_holds_a_token(okta):
    def leaky_json(token_endpoint, id_jag, client_assertion):
        try:
            return form_as_json(token_endpoint, id_jag, client_assertion)
        except RuntimeError as refusal:
            raise RuntimeError(f"{refusal} for {id_jag}") from None

    fresh = grade_id_jag_exchange(leaky_json, okta)[0]
    assert not fresh.passed and "your exception" not in fresh.why
