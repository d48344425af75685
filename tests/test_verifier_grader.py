"""Notebook 03's attack runner: each typical wrong verifier or server fails the row named for it.

Each wrong implementation is what a learner plausibly writes (an option turned off, a claim
not required, a key not picked by ``kid``, a tool without its scope). The test asserts the
failing rows by name, and that their feedback names what got through. The recipe file, which is
the exercise's solution, passes every row; an accept-everything stub fails every attack row.
"""

import jwt
import pytest
from fastmcp import FastMCP
from fastmcp.server.auth import AccessToken, RemoteAuthProvider, require_scopes

from helpers.exercises import ExerciseFeedback
from helpers.graders.report import failed
from helpers.graders.verifier import ADVICE, OTHER_ALGORITHM, ServerNotServed, check_verifier, grade_verifier, probe
from helpers.local_okta import start_local_okta
from helpers.recipes.verifier import OktaTokenVerifier, verify_access_token

REQUIRED = ["exp", "iat", "iss", "aud"]
ATTACKS = ["no token", *ADVICE, "add-only token: subtract"]
ACCEPTED_ROWS = ["valid token: add", "valid token: subtract", "add-only token: add"]


@pytest.fixture(scope="module")
def forger():
    local = start_local_okta(name="local-okta-verifier-grader")
    yield local
    local.stop()


def server_using(check, *, add_scopes=("calculator.add",), subtract_scopes=("calculator.subtract",), verifier_class=None, auth=True):
    """A learner's calculator_server: `check` (like verify_access_token) as the token check."""

    class Verifier(verifier_class or OktaTokenVerifier):
        def claims(self, token):
            return check(token, jwks_client=self.jwks_client, issuer=self.issuer, audience=self.audience, leeway=self.leeway)

    def calculator_server(base_url, *, issuer, audience, jwks_uri):
        verifier = Verifier(issuer=issuer, audience=audience, jwks_uri=jwks_uri)
        provider = RemoteAuthProvider(token_verifier=verifier, authorization_servers=[issuer], base_url=base_url)
        mcp = FastMCP("Calculator", auth=provider if auth else None)

        @mcp.tool(auth=require_scopes(*add_scopes) if add_scopes else None)
        def add(a: int, b: int) -> int:
            return a + b

        @mcp.tool(auth=require_scopes(*subtract_scopes) if subtract_scopes else None)
        def subtract(a: int, b: int) -> int:
            return a - b

        return mcp

    return calculator_server


def decode_with(**overrides):
    """verify_access_token's decode with one argument changed: the typical slip."""

    def check(token, *, jwks_client, issuer, audience, leeway=30):
        arguments = {"algorithms": ["RS256"], "issuer": issuer, "audience": audience, "leeway": leeway,
                     "options": {"require": REQUIRED}}
        arguments.update(overrides)
        return jwt.decode(token, jwks_client.get_signing_key_from_jwt(token).key, **arguments)

    return check


def failing(rows):
    return [row.name for row in failed(rows)]


def test_the_recipe_passes_every_row(forger):
    rows = grade_verifier(server_using(verify_access_token), forger)
    assert failing(rows) == []
    assert [row.name for row in rows] == ["valid token: add", "valid token: subtract", *ATTACKS, "add-only token: add"]
    assert rows[0].got == "accepted: add = 8" and rows[3].got == "refused: HTTP 401 invalid_token"


def test_the_recipe_passes_the_check_and_records_the_exercise(forger, capsys):
    check_verifier("Exercise 3.x test", server_using(verify_access_token), forger)
    printed = capsys.readouterr().out
    assert "✅ Exercise 3.x test" in printed and "HS256 + public key" in printed and "❌" not in printed


def test_a_verifier_that_accepts_everything_fails_every_token_attack(forger):
    rows = grade_verifier(server_using(lambda token, **_: {"sub": "anyone", "scp": ["calculator.add", "calculator.subtract"]}), forger)
    assert failing(rows) == [*ADVICE, "add-only token: subtract"]  # its fixed scp grants subtract too
    # "no token" is refused by FastMCP before any verifier runs: the next test leaves auth out


def test_a_server_without_auth_or_scopes_fails_every_attack_row(forger):
    rows = grade_verifier(server_using(verify_access_token, add_scopes=(), subtract_scopes=(), auth=False), forger)
    assert failing(rows) == ATTACKS
    assert all(row.why and row.fix for row in failed(rows))


def test_a_verifier_that_refuses_everything_fails_the_good_token_rows(forger):
    def refuse(token, **_):
        raise jwt.InvalidTokenError("no")

    rows = grade_verifier(server_using(refuse), forger)
    assert failing(rows) == ACCEPTED_ROWS
    assert "refuses good tokens too" in rows[0].why and "rows above" not in rows[0].why
    assert "good tokens are refused" in rows[1].why


def test_a_verifier_that_returns_nothing_is_told_its_server_failed(forger):
    rows = grade_verifier(server_using(lambda token, **_: None), forger)
    assert failing(rows) == ACCEPTED_ROWS
    assert rows[0].got == "refused: HTTP 500" and "return the claims dict" in rows[0].why


def test_skipping_the_audience_check_lets_the_token_for_another_api_in(forger):
    rows = grade_verifier(server_using(decode_with(options={"require": REQUIRED, "verify_aud": False})), forger)
    assert failing(rows) == ["wrong audience"]  # the ID token has no scp: the tools' scopes stop it too
    assert "another API" in failed(rows)[0].why and "audience=audience" in failed(rows)[0].fix


def test_skipping_the_audience_check_and_the_scopes_lets_the_id_token_in(forger):
    no_audience = decode_with(options={"require": REQUIRED, "verify_aud": False})
    rows = grade_verifier(server_using(no_audience, add_scopes=(), subtract_scopes=()), forger)
    assert failing(rows) == ["wrong audience", "ID token", "add-only token: subtract"]
    assert "tells an app who signed in" in failed(rows)[1].why and "audience=audience" in failed(rows)[1].fix


def test_no_issuer_lets_the_other_issuers_token_in(forger):
    rows = grade_verifier(server_using(decode_with(issuer=None)), forger)
    assert failing(rows) == ["wrong issuer"]
    assert "issuer=issuer" in failed(rows)[0].fix


def test_not_checking_the_signature_lets_every_forgery_in(forger):
    rows = grade_verifier(server_using(decode_with(options={"require": REQUIRED, "verify_signature": False})), forger)
    # PyJWT turns its other checks off with the signature's; the unknown kid still finds no key
    assert {"tampered", "alg none", "HS256 + public key"} <= set(failing(rows)) and "unknown kid" not in failing(rows)
    by_name = {row.name: row for row in rows}
    assert "signature is not checked" in by_name["tampered"].why
    assert "algorithm confusion" in by_name["HS256 + public key"].why and 'algorithms=["RS256"]' in by_name["alg none"].fix


def test_a_key_not_picked_by_kid_lets_the_unknown_kid_in(forger):
    def first_key(token, *, jwks_client, issuer, audience, leeway=30):
        key = next(k for k in jwks_client.get_signing_keys() if k.key_id == forger.signing_kids()[-1])  # picked once, by us
        return jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer, audience=audience, options={"require": REQUIRED})

    rows = grade_verifier(server_using(first_key), forger)
    assert failing(rows) == ["unknown kid"]
    assert "get_signing_key_from_jwt" in failed(rows)[0].fix


def test_not_requiring_exp_lets_the_eternal_token_in(forger):
    rows = grade_verifier(server_using(decode_with(options={"require": ["iat", "iss", "aud"]})), forger)
    assert failing(rows) == ["no exp"]
    assert "valid forever" in failed(rows)[0].why


def test_a_leeway_of_hours_lets_the_future_token_in(forger):
    rows = grade_verifier(server_using(decode_with(leeway=7200)), forger)
    assert failing(rows) == ["future iat"]  # the expired one is stopped by FastMCP too: see the next test
    assert "issued an hour from now" in failed(rows)[0].why


def test_a_verifier_that_ignores_expiry_lets_the_expired_token_in(forger):
    class NoExpiry(OktaTokenVerifier):
        """A TokenVerifier that does not tell FastMCP when the token expires (expires_at), so it cannot check either."""

        async def verify_token(self, token):
            found = await super().verify_token(token)
            return None if found is None else AccessToken(**{**found.model_dump(), "expires_at": None})

    rows = grade_verifier(server_using(decode_with(options={"require": REQUIRED, "verify_exp": False}), verifier_class=NoExpiry), forger)
    assert failing(rows) == ["expired"]
    assert "expired an hour ago" in failed(rows)[0].why


def test_tools_without_scopes_let_the_add_only_token_subtract(forger):
    rows = grade_verifier(server_using(verify_access_token, add_scopes=(), subtract_scopes=()), forger)
    assert failing(rows) == ["add-only token: subtract"]
    assert "requires no scope" in failed(rows)[0].why and "require_scopes" in failed(rows)[0].fix


def test_the_wrong_scope_on_a_tool_refuses_the_tokens_that_have_the_right_one(forger):
    rows = grade_verifier(server_using(verify_access_token, add_scopes=("calculator.subtract",), subtract_scopes=("calculator:subtract",)), forger)
    assert failing(rows) == ["valid token: subtract", "add-only token: add"]
    assert "spelling" in failed(rows)[0].why and "other than calculator.add" in failed(rows)[1].why


def test_the_check_names_each_token_that_got_through_and_the_fix_on_the_second_try(forger, capsys):
    server = server_using(decode_with(options={"require": REQUIRED, "verify_aud": False}))
    with pytest.raises(ExerciseFeedback) as first:
        check_verifier("Exercise 3.y test", server, forger)
    assert "1 of 16 checks failed: wrong audience." in str(first.value) and not first.value.shows_fix
    with pytest.raises(ExerciseFeedback) as second:
        check_verifier("Exercise 3.y test", server, forger)
    assert second.value.shows_fix and "audience=audience" in second.value.fix
    assert "❌" in capsys.readouterr().out


def test_a_server_that_cannot_be_built_is_reported_without_a_traceback(forger):
    def unfinished(base_url, *, issuer, audience, jwks_uri):
        return ...

    with pytest.raises(ServerNotServed, match="returned ellipsis"):
        grade_verifier(unfinished, forger)
    with pytest.raises(ExerciseFeedback, match="could not be served: TypeError"):
        check_verifier("Exercise 3.z test", unfinished, forger)


def test_an_unfinished_verify_access_token_is_named_before_any_attack(forger):
    def unfinished(token, *, jwks_client, issuer, audience, leeway=30):
        signing_key = ...
        claims = ...
        return claims

    with pytest.raises(ExerciseFeedback, match="still returns `...`") as stub:
        check_verifier("Exercise 3.w test", server_using(verify_access_token), forger, verify=unfinished)
    assert stub.value.try_number == 0  # an unfinished stub is not a wrong try
    assert "returned None for a correct token" in probe(lambda token, **_: None, forger)
    with pytest.raises(ExerciseFeedback, match="refused a correct token: InvalidAudienceError"):
        check_verifier("Exercise 3.w test", server_using(verify_access_token), forger, verify=decode_with(audience="api://default"))
    assert probe(verify_access_token, forger) is None


def test_a_verifier_that_lets_the_token_choose_its_algorithm_fails_the_other_algorithm_row(forger):
    def header_alg(token, *, jwks_client, issuer, audience, leeway=30):
        algorithm = jwt.get_unverified_header(token)["alg"]  # PyJWT still refuses none and HS256 with an RSA key
        return decode_with(algorithms=[algorithm])(token, jwks_client=jwks_client, issuer=issuer, audience=audience, leeway=leeway)

    rows = grade_verifier(server_using(header_alg), forger)
    assert failing(rows) == [OTHER_ALGORITHM]
    assert "lets the token choose its algorithm" in failed(rows)[0].why and 'algorithms=["RS256"]' in failed(rows)[0].fix


@pytest.mark.parametrize(("slip", "error", "hint", "fix"), [
    (decode_with(audience=None), "InvalidAudienceError", "unless you pass audience=", "audience=audience"),
    (decode_with(issuer="https://example.com"), "InvalidIssuerError", "character for character", "issuer=issuer"),
    (decode_with(options={"require": [*REQUIRED, "nbf"]}), "MissingRequiredClaimError", "a claim named 'nbf'", "require"),
    (decode_with(algorithms=["HS256"]), "InvalidAlgorithmError", "RS256", 'algorithms=["RS256"]'),
])
def test_a_refused_correct_token_gets_the_hint_for_its_error(forger, slip, error, hint, fix):
    exercise = f"Exercise 3.v test {error}"
    with pytest.raises(ExerciseFeedback) as first:
        check_verifier(exercise, server_using(verify_access_token), forger, verify=slip)
    assert f"refused a correct token: {error}" in first.value.problem and hint in first.value.hint
    assert "Is every" not in first.value.hint and not first.value.shows_fix
    with pytest.raises(ExerciseFeedback) as second:
        check_verifier(exercise, server_using(verify_access_token), forger, verify=slip)
    assert second.value.shows_fix and fix in second.value.fix


def test_a_stopped_authorization_server_is_named_and_is_not_a_wrong_try():
    stopped = start_local_okta(name="local-okta-verifier-grader-stopped")
    stopped.stop()
    with pytest.raises(ExerciseFeedback, match="checkpoint stopped the servers") as feedback:
        check_verifier("Exercise 3.u test", server_using(verify_access_token), stopped, verify=verify_access_token)
    assert feedback.value.try_number == 0 and "section 1" in feedback.value.hint
