"""The client-assertion exercise's grader (notebook 07/08, "Services without a shared secret").

The recipe's ``make_client_assertion`` (the solution) passes every row; the stub (``...``) is told to
write its answer and counts no wrong try; each typical mistake fails the row that names it, with the
server's own refusal where there is one; nothing the grader prints holds an assertion or a key.
"""

from __future__ import annotations

import ast
import inspect
import time
import uuid

import jwt
import pytest

from helpers.exercises import ExerciseFeedback
from helpers.graders.client_assertion import check_client_assertion, grade_client_assertion
from helpers.local_okta import start_local_okta
from helpers.recipes import private_key_client
from helpers.recipes.private_key_client import make_client_assertion


@pytest.fixture(scope="module")
def okta():
    local = start_local_okta(name="test-client-assertion-grader")
    yield local
    local.stop()


def failing(rows) -> list[str]:
    return [row.name for row in rows if not row.passed]


def variant(**changes):
    """make_client_assertion with some claims changed (``None`` drops one); ``kid=False`` drops the header."""
    def make(client_id, token_endpoint, private_key_pem, kid):
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": token_endpoint, "iat": now, "exp": now + 60,
                  "jti": str(uuid.uuid4())}
        for name, value in changes.items():
            if name == "kid":
                continue
            if value is None:
                claims.pop(name)
            else:
                claims[name] = value(client_id, token_endpoint, now) if callable(value) else value
        headers = {} if changes.get("kid") is False else {"kid": kid}
        return jwt.encode(claims, private_key_pem, algorithm="RS256", headers=headers)
    return make


def test_the_solution_passes_every_row(okta):
    rows = grade_client_assertion(make_client_assertion, okta)
    assert failing(rows) == [] and len(rows) == 7


def test_the_stub_is_asked_for_an_answer_and_counts_no_wrong_try():
    def stub(client_id, token_endpoint, private_key_pem, kid):
        now = int(time.time())  # noqa: F841 (as in the exercise cell)
        claims = ...  # noqa: F841
        return ...

    with pytest.raises(ExerciseFeedback, match="still returns") as caught:
        check_client_assertion(stub)
    assert caught.value.try_number == 0  # not counted as a wrong try


def test_signing_for_the_issuer_is_refused_by_the_server_and_named(okta):
    rows = grade_client_assertion(variant(aud=lambda cid, endpoint, now: endpoint.rsplit("/v1/", 1)[0]), okta)
    assert failing(rows) == ["token granted", "same assertion again", "aud"]
    granted = rows[0]
    assert "must be the endpoint invoked for the request" in granted.got  # the server's own words
    assert next(row for row in rows if row.name == "aud").got == "the issuer"


def test_a_fixed_jti_works_once(okta):
    assert failing(grade_client_assertion(variant(jti="always-the-same"), okta)) == ["two calls, two jtis"]


def test_no_jti_lets_a_replay_through(okta):
    assert failing(grade_client_assertion(variant(jti=None), okta)) == ["same assertion again", "two calls, two jtis"]


def test_the_replay_row_is_not_reached_when_the_first_assertion_is_refused(okta):
    # Before: a refused assertion with a jti got a tick for a replay that was never sent.
    rows = {row.name: row for row in grade_client_assertion(variant(aud="https://elsewhere.example/token"), okta)}
    replay = rows["same assertion again"]
    assert not replay.passed and replay.got == "not reached: the first one was refused"
    assert "fix [token granted] first" in replay.why


def test_a_jti_made_from_the_time_is_named_even_across_a_second_boundary(okta):
    """The grader's two calls see one clock reading: a time-based jti is caught even when the two calls
    fall in different seconds (a slow machine; here each call waits 1.1 s before reading the clock)."""
    def make(client_id, token_endpoint, private_key_pem, kid):
        time.sleep(1.1)
        return variant(jti=lambda cid, endpoint, now: f"{cid}-{int(time.time())}")(client_id, token_endpoint,
                                                                                   private_key_pem, kid)
    rows = grade_client_assertion(make, okta)
    assert {row.name: row.got for row in rows}["two calls, two jtis"] == "the same jti"


def test_a_jti_made_from_the_time_is_named(okta):
    rows = grade_client_assertion(variant(jti=lambda cid, endpoint, now: f"{cid}-{now}"), okta)
    row = next(row for row in rows if row.name == "two calls, two jtis")
    assert failing(rows) == ["two calls, two jtis"] and row.got == "the same jti" and "built from the time" in row.why


def test_a_stopped_server_is_named_not_a_traceback():
    stopped = start_local_okta(name="test-client-assertion-stopped")
    stopped.stop()
    with pytest.raises(ExerciseFeedback, match="authorization server is stopped") as caught:
        check_client_assertion(make_client_assertion, okta=stopped)
    assert caught.value.try_number == 0


def test_a_long_lifetime(okta):
    rows = grade_client_assertion(variant(exp=lambda cid, endpoint, now: now + 1800), okta)
    assert failing(rows) == ["lifetime"]  # Okta allows an hour; the exercise asks for one request's worth


def test_no_kid_header(okta):
    assert failing(grade_client_assertion(variant(kid=False), okta)) == ["kid header"]


def test_sub_left_out(okta):
    rows = grade_client_assertion(variant(sub=None), okta)
    assert failing(rows) == ["token granted", "same assertion again", "iss = sub = client id"]
    assert "subject claim" in rows[0].got


def test_returning_the_claims_instead_of_the_jwt():
    def claims_only(client_id, token_endpoint, private_key_pem, kid):
        return {"iss": client_id}

    with pytest.raises(ExerciseFeedback, match="1 of 1 checks failed: a signed JWT"):
        check_client_assertion(claims_only)


def test_a_function_that_raises_is_told_what_it_raised():
    def broken(client_id, token_endpoint, private_key_pem, kid):
        return jwt.encode({"iss": client_id}, private_key_pem, algorithm="HS256")

    with pytest.raises(ExerciseFeedback, match="raised InvalidKeyError"):
        check_client_assertion(broken)


def test_the_check_prints_no_assertion_and_no_key(capsys):
    rows = check_client_assertion(make_client_assertion)
    out = capsys.readouterr().out
    assert "eyJ" not in out and "PRIVATE KEY" not in out and "✅ Exercise 8.2" in out and len(rows) == 7


def test_the_recipe_is_self_contained():
    tree = ast.parse(inspect.getsource(private_key_client))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert "helpers" not in imported and imported <= {"__future__", "time", "uuid", "collections", "jwt", "requests", "fastmcp"}
