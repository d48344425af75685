"""Notebook 06's sign-in grader: each typical mistake fails its own row, with the feedback that names it.

The right answer is the recipe (``helpers/recipes/pkce_signin.py``); each wrong implementation
below changes one thing in it, as a learner would, and must fail the row that names that mistake
(and only that one where the mistake is local to one function). An accept-everything stub fails
every row. Every run signs the test user in on the local server: real requests, no mocks.
"""

import ast
import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from helpers.exercises import ExerciseFeedback
from helpers.graders.sign_in import check_sign_in, grade_sign_in, grader_app
from helpers.local_okta import start_local_okta
from helpers.recipes import pkce_signin as recipe

ROWS = ["PKCE pair", "authorize URL", "real sign-in", "wrong state", "missing state", "error with wrong state",
        "error=access_denied", "replayed code", "wrong verifier", "refresh", "reused refresh token"]
STATE_ROWS = ["error with wrong state", "missing state", "wrong state"]


@pytest.fixture(scope="module")
def okta():
    server = start_local_okta(name="test-sign-in-grader")
    yield server
    server.stop()


def learner(**changed):
    """The recipe's four functions, with some replaced by a learner's wrong version."""
    functions = {name: getattr(recipe, name) for name in ("make_pkce_pair", "authorization_url", "handle_redirect", "refresh")}
    return SimpleNamespace(**{**functions, **changed})


def graded(okta, **changed):
    return {row.name: row for row in grade_sign_in(learner(**changed), grader_app(okta), okta)}


def failing(rows):
    return sorted(name for name, row in rows.items() if not row.passed)


def digest(verifier):
    return hashlib.sha256(verifier.encode()).digest()


def test_the_recipe_passes_every_row(okta):
    rows = graded(okta)
    assert list(rows) == ROWS
    assert failing(rows) == []
    assert rows["reused refresh token"].got == "raised SignInError"


def test_an_accept_everything_stub_fails_every_row(okta):
    rows = graded(okta, make_pkce_pair=lambda: ("x", "x"), authorization_url=lambda *a: "https://example.com/",
                  handle_redirect=lambda *a: {"access_token": "anything"}, refresh=lambda *a: {"access_token": "anything"})
    assert failing(rows) == sorted(ROWS)
    assert all(row.why and row.fix for row in rows.values())


def test_a_do_nothing_stub_fails_every_row_and_the_check_names_them(okta):
    nothing = lambda *args: None  # noqa: E731 - the `...` body of a stub returns None
    rows = graded(okta, make_pkce_pair=nothing, authorization_url=nothing, handle_redirect=nothing, refresh=nothing)
    assert failing(rows) == sorted(ROWS)
    with pytest.raises(ExerciseFeedback) as raised:  # the stub as committed: one line, not nine rows
        check_sign_in(nothing, nothing, nothing, nothing, okta=okta)
    assert raised.value.problem == "your functions still return nothing: their bodies are `...`."
    assert raised.value.try_number == 0
    with pytest.raises(ExerciseFeedback) as raised:  # a first function written: the whole table
        check_sign_in(recipe.make_pkce_pair, nothing, nothing, nothing, okta=okta)
    assert raised.value.problem.startswith("10 of 11 checks failed: authorize URL, real sign-in, wrong state")
    with pytest.raises(ExerciseFeedback) as raised:
        check_sign_in(nothing, recipe.authorization_url, nothing, nothing, okta=okta)
    assert raised.value.problem.startswith("10 of 11 checks failed: PKCE pair, real sign-in")


@pytest.mark.parametrize("challenge, got, why", [
    (lambda v: base64.urlsafe_b64encode(digest(v)).decode(), "challenge ends with '=' padding", "without padding"),
    (lambda v: digest(v).hex(), "challenge is a hex digest", "not as hex"),
    (lambda v: v, "challenge = verifier (the 'plain' method)", "IS the verifier"),
    (lambda v: base64.b64encode(v.encode()).decode().rstrip("="), "challenge is not BASE64URL(SHA256(verifier))", "SHA-256"),
])
def test_a_wrong_challenge_fails_the_pair_row(okta, challenge, got, why):
    def make_pkce_pair():
        verifier = secrets.token_urlsafe(64)
        return verifier, challenge(verifier)

    rows = graded(okta, make_pkce_pair=make_pkce_pair)
    assert rows["PKCE pair"].got == got and why in rows["PKCE pair"].why
    assert "real sign-in" in failing(rows)  # the server's hash of the verifier does not match either
    assert set(failing(rows)) == {"PKCE pair", "real sign-in"}


def test_a_short_or_repeated_verifier_fails_the_pair_row(okta):
    short = secrets.token_urlsafe(16)
    rows = graded(okta, make_pkce_pair=lambda: (short, base64.urlsafe_b64encode(digest(short)).rstrip(b"=").decode()))
    assert rows["PKCE pair"].got.startswith("verifier of 22 chars") and "43 to 128" in rows["PKCE pair"].why
    fixed = recipe.make_pkce_pair()
    rows = graded(okta, make_pkce_pair=lambda: fixed)
    assert rows["PKCE pair"].got == "the same verifier twice" and "new and random" in rows["PKCE pair"].why


def test_a_url_with_the_plain_method_and_no_state_fails_the_url_row(okta):
    def authorization_url(app, state, challenge):
        query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri,
                 "scope": app.scope, "code_challenge": challenge, "code_challenge_method": "plain"}
        return f"{app.authorization_endpoint}?{urlencode(query)}"

    rows = graded(okta, authorization_url=authorization_url)
    assert rows["authorize URL"].got == "missing or different: state, code_challenge_method"
    assert "S256" in rows["authorize URL"].why and "code_challenge_method='S256'" in rows["authorize URL"].fix
    assert rows["real sign-in"].got == "the sign-in page refused: The authentication request has an invalid 'state' parameter."


def exchange(app, redirect_url, verifier, *, auth=True, check=True):
    """A learner's code exchange: optionally without client authentication or a status check."""
    code = dict(parse_qsl(urlsplit(redirect_url).query)).get("code")
    response = requests.post(app.token_endpoint, timeout=10, auth=(app.client_id, app.client_secret) if auth else None, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri, "code_verifier": verifier,
    })
    if check and response.status_code != 200:
        raise RuntimeError(f"{response.json()['error']}: {response.json().get('error_description')}")
    return response.json()


def test_an_exchange_without_client_authentication_fails_the_sign_in(okta):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        if dict(parse_qsl(urlsplit(redirect_url).query)).get("state") != expected_state:
            raise RuntimeError("state mismatch")
        return exchange(app, redirect_url, verifier, auth=False)

    rows = graded(okta, handle_redirect=handle_redirect)
    assert rows["real sign-in"].got.startswith("raised RuntimeError: invalid_client")
    assert "HTTP Basic" in rows["real sign-in"].why


def test_a_handle_redirect_that_ignores_state_lets_the_forged_redirect_in(okta):
    rows = graded(okta, handle_redirect=lambda app, url, state, verifier: exchange(app, url, verifier))
    assert rows["wrong state"].got == "accepted: returned tokens"
    assert rows["missing state"].got == "accepted: returned tokens"
    assert "login CSRF" in rows["wrong state"].why and "hmac.compare_digest" in rows["wrong state"].fix
    assert not rows["error=access_denied"].passed  # it tries an exchange without a code instead
    assert not rows["error=access_denied"].got.startswith("accepted")


def checking_state(check):
    """A learner's handle_redirect whose state check is `check(query, expected_state)` (True: refuse)."""
    def handle_redirect(app, redirect_url, expected_state, verifier):
        query = dict(parse_qsl(urlsplit(redirect_url).query))
        if check(query, expected_state):
            raise RuntimeError("the state does not match")
        if "error" in query:
            raise RuntimeError(f"refused: {query['error']}: {query.get('error_description')}")
        return exchange(app, redirect_url, verifier)
    return handle_redirect


def test_skipping_the_state_check_when_state_is_absent_fails_the_missing_state_row(okta):
    skips = checking_state(lambda query, expected: "state" in query and not hmac.compare_digest(query["state"], expected))
    rows = graded(okta, handle_redirect=skips)
    assert failing(rows) == ["missing state"]
    assert rows["missing state"].got == "accepted: returned tokens"
    assert "a missing state is a mismatch too" in rows["missing state"].why
    assert "query.get('state', '')" in rows["missing state"].fix


def test_a_keyerror_on_a_missing_state_is_a_crash_not_a_refusal(okta):
    indexes = checking_state(lambda query, expected: not hmac.compare_digest(query["state"], expected))
    rows = graded(okta, handle_redirect=indexes)
    assert failing(rows) == ["missing state"]
    assert rows["missing state"].got == "crashed: raised KeyError: 'state'"
    assert "query.get('state', '')" in rows["missing state"].fix


def test_a_state_refusal_that_does_not_say_state_fails_the_state_rows(okta):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        query = dict(parse_qsl(urlsplit(redirect_url).query))
        if query.get("error"):
            raise RuntimeError(f"refused: {query['error']}: {query.get('error_description')}")
        if not hmac.compare_digest(query.get("state", ""), expected_state):
            raise RuntimeError("forged redirect")
        return exchange(app, redirect_url, verifier)

    rows = graded(okta, handle_redirect=handle_redirect)
    assert failing(rows) == STATE_ROWS
    assert rows["wrong state"].got == "raised without saying 'state': raised RuntimeError: forged redirect"
    assert "saying the state does not match" in rows["wrong state"].fix


def test_checking_error_before_state_fails_the_forged_error_row(okta):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        query = dict(parse_qsl(urlsplit(redirect_url).query))
        if "error" in query:
            raise RuntimeError(f"the state was fine? refused: {query['error']}: {query.get('error_description')}")
        if not hmac.compare_digest(query.get("state", ""), expected_state):
            raise RuntimeError("the state does not match")
        return exchange(app, redirect_url, verifier)

    rows = graded(okta, handle_redirect=handle_redirect)
    assert failing(rows) == ["error with wrong state"]
    assert rows["error with wrong state"].got == "raised, repeating the forged redirect's 'User denied the request.'"
    assert "state first" in rows["error with wrong state"].why


def test_a_state_check_after_the_exchange_still_fails_the_forged_state_rows(okta):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        tokens = exchange(app, redirect_url, verifier)
        if dict(parse_qsl(urlsplit(redirect_url).query)).get("state") != expected_state:
            raise RuntimeError("the state does not match")
        return tokens

    rows = graded(okta, handle_redirect=handle_redirect)
    assert rows["wrong state"].got == "raised RuntimeError, after 1 token request(s)"
    assert rows["missing state"].got == "raised RuntimeError, after 1 token request(s)"


def test_an_error_redirect_without_its_description_fails_the_access_denied_row(okta):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        query = dict(parse_qsl(urlsplit(redirect_url).query))
        if query.get("state") != expected_state:
            raise RuntimeError("state mismatch")
        if "error" in query:
            raise RuntimeError("sign-in failed")
        return exchange(app, redirect_url, verifier)

    rows = graded(okta, handle_redirect=handle_redirect)
    assert failing(rows) == ["error=access_denied"]
    assert rows["error=access_denied"].got == "raised without saying 'User denied the request.': raised RuntimeError: sign-in failed"
    assert "error_description" in rows["error=access_denied"].fix


def checked_state(exchanging):
    def handle_redirect(app, redirect_url, expected_state, verifier):
        query = dict(parse_qsl(urlsplit(redirect_url).query))
        if query.get("state") != expected_state:
            raise RuntimeError("the state does not match")
        if "error" in query:
            raise RuntimeError(f"refused: {query.get('error_description')}")
        return exchanging(app, redirect_url, verifier)
    return handle_redirect


def test_returning_empty_tokens_on_a_refused_exchange_fails_the_replay_and_verifier_rows(okta):
    def quiet(app, redirect_url, verifier):
        try:
            return exchange(app, redirect_url, verifier)
        except RuntimeError:
            return {}

    rows = graded(okta, handle_redirect=checked_state(quiet))
    assert failing(rows) == ["replayed code", "wrong verifier"]
    assert rows["replayed code"].got == "no exception: returned {}"
    assert "single use" in rows["replayed code"].why and "raise" in rows["replayed code"].fix


def test_returning_the_error_answer_fails_the_wrong_verifier_row(okta):
    rows = graded(okta, handle_redirect=checked_state(lambda app, url, verifier: exchange(app, url, verifier, check=False)))
    assert rows["wrong verifier"].got.startswith("no exception: returned {'error': 'invalid_grant'")
    assert "verifier does not match" in rows["wrong verifier"].why


def test_an_error_message_with_the_code_in_it_fails_for_the_leak(okta):
    def leaky(app, redirect_url, verifier):
        answer = exchange(app, redirect_url, verifier, check=False)
        if "error" in answer:
            raise RuntimeError(f"invalid_grant for {redirect_url}")
        return answer

    rows = graded(okta, handle_redirect=checked_state(leaky))
    assert rows["replayed code"].got == "raised, but the message holds a code, verifier, token or secret"
    assert "logs" in rows["replayed code"].why


def test_a_refresh_that_keeps_the_old_refresh_token_fails_the_refresh_row(okta):
    def refresh(app, refresh_token):
        return {**recipe.refresh(app, refresh_token), "refresh_token": refresh_token}

    rows = graded(okta, refresh=refresh)
    assert failing(rows) == ["refresh"]
    assert rows["refresh"].got == "returned the old (rotated-out) refresh token"
    assert "rotation" in rows["refresh"].why


def test_a_refresh_that_hides_a_refusal_fails_the_reuse_row(okta):
    def refresh(app, refresh_token):
        try:
            return recipe.refresh(app, refresh_token)
        except recipe.SignInError:
            return None

    rows = graded(okta, refresh=refresh)
    assert failing(rows) == ["reused refresh token"]
    assert rows["reused refresh token"].got == "no exception: returned None"
    assert "signs the person in again" in rows["reused refresh token"].why


def test_the_grace_period_is_put_back_after_grading(okta):
    graded(okta)
    assert okta._state.refresh_grace_period is None


NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06_user_login_and_refresh.ipynb"
RECIPE = Path(recipe.__file__)


def recipe_source(name):
    """The source of one top-level function or class of the recipe, decorators included."""
    text = RECIPE.read_text()
    node = next(node for node in ast.parse(text).body if getattr(node, "name", None) == name)
    start = (node.decorator_list[0] if getattr(node, "decorator_list", None) else node).lineno
    return "\n".join(text.splitlines()[start - 1: node.end_lineno])


def test_the_folded_solution_and_the_given_cell_are_the_recipe_verbatim():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    solution = next("".join(c["source"]) for c in cells
                    if "solution" in c["metadata"].get("tags", []) and "def make_pkce_pair" in "".join(c["source"]))
    given = next("".join(c["source"]) for c in cells if "class WebApp" in "".join(c["source"]))
    for name in ("make_pkce_pair", "authorization_url", "post_to_token_endpoint", "handle_redirect", "refresh"):
        assert recipe_source(name) in solution, f"{name} differs between the recipe and the folded solution"
    for name in ("SignInError", "WebApp"):
        assert recipe_source(name) in given, f"{name} differs between the recipe and the notebook"
    stub = next("".join(c["source"]) for c in cells
                if "exercise" in c["metadata"].get("tags", []) and "def make_pkce_pair" in "".join(c["source"]))
    assert stub.count("    ...") == 5 and "compare_digest" not in stub and "sha256" not in stub


def test_the_notebook_states_the_recipes_length():
    text = NOTEBOOK.read_text()
    assert f"`helpers/recipes/pkce_signin.py` ({len(RECIPE.read_text().splitlines())} lines" in text
