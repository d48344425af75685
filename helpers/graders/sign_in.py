"""Grade a learner's PKCE sign-in (notebook 06) with real sign-ins and attacks on the local server.

The learner writes four functions, the shape of ``helpers/recipes/pkce_signin.py``:
``make_pkce_pair() -> (verifier, challenge)``, ``authorization_url(app, state, challenge) -> str``,
``handle_redirect(app, redirect_url, expected_state, verifier) -> tokens`` (checks ``state``, exchanges
the code) and ``refresh(app, refresh_token) -> tokens``; ``app`` has the fields of the recipe's
``WebApp``. :func:`grade_sign_in` returns one :class:`Row` per behaviour; each row that tests
``handle_redirect`` or ``refresh`` builds its own sign-in with a correct PKCE pair, so one mistake
fails its own row only. The test user signs in headlessly on the local sign-in page
(:func:`helpers.local_okta.signin.sign_in`, the pages a person sees). A refusal counts only when the
learner's function raises, says why (the server's error) and shows no code, verifier, token or secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..exercises import ExerciseFeedback
from ..local_okta import LocalOkta, start_local_okta
from ..local_okta.signin import SignInError, sign_in
from .report import Row, report
from .sign_in_calls import calls, refusal, returned_tokens, shown
from .sign_in_request import challenge_of, pair_row, url_row

__all__ = ["check_sign_in", "grade_sign_in", "grader_app"]

REDIRECT_URI = "http://127.0.0.1:8765/callback"  # nothing listens: the grader reads the redirect itself


def grader_app(okta: LocalOkta, scope: str = "openid offline_access calculator.add") -> SimpleNamespace:
    """The web app's fields (as the recipe's ``WebApp``) for the local server ``okta``."""
    web = okta.clients["web"]
    return SimpleNamespace(
        authorization_endpoint=okta.authorization_endpoint, token_endpoint=okta.token_endpoint,
        client_id=web.client_id, client_secret=web.client_secret, redirect_uri=REDIRECT_URI, scope=scope,
    )


class _Grader:
    """One grading run: the local server, the app, the test user, and the learner's functions."""

    def __init__(self, learner: SimpleNamespace, app: Any, okta: LocalOkta) -> None:
        self.learner, self.app, self.okta, self.user = learner, app, okta, okta.users[0]
        self.secrets = [app.client_secret]  # everything a message must not show

    def token_requests(self) -> int:
        return self.okta.request_counts["token"]

    def reference_sign_in(self, state: str | None = None) -> tuple[str, str, str]:
        """A correct sign-in (the grader's own PKCE pair and URL): (redirect URL, state, verifier)."""
        verifier, state = secrets.token_urlsafe(64), state or secrets.token_urlsafe(32)
        query = {"response_type": "code", "client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri,
                 "scope": self.app.scope, "state": state, "code_challenge": challenge_of(verifier),
                 "code_challenge_method": "S256"}
        redirect = sign_in(f"{self.app.authorization_endpoint}?{urlencode(query)}", self.user.login, self.user.password)
        self.secrets += [verifier, dict(parse_qsl(urlsplit(redirect).query)).get("code", verifier)]
        return redirect, state, verifier

    def reference_tokens(self) -> dict:
        """Tokens from a correct sign-in and exchange, made by the grader itself."""
        redirect, _, verifier = self.reference_sign_in()
        answer = requests.post(self.app.token_endpoint, auth=(self.app.client_id, self.app.client_secret), timeout=10, data={
            "grant_type": "authorization_code", "code": dict(parse_qsl(urlsplit(redirect).query))["code"],
            "redirect_uri": self.app.redirect_uri, "code_verifier": verifier,
        })
        answer.raise_for_status()
        tokens = answer.json()
        self.secrets += [tokens["access_token"], tokens["refresh_token"]]
        return tokens

    def active(self, token: str) -> bool:
        """Whether the local server's introspection says ``token`` is live."""
        answer = requests.post(self.okta.introspection_endpoint, auth=(self.app.client_id, self.app.client_secret),
                               data={"token": token}, timeout=10)
        return answer.ok and answer.json().get("active") is True

    @contextmanager
    def no_grace_period(self):
        """A rotated-out refresh token is a reuse at once (local only), put back afterwards."""
        self.okta.set_refresh_token_grace_period(0)
        try:
            yield
        finally:
            self.okta.set_refresh_token_grace_period(None)


def _end_to_end_row(g: _Grader) -> Row:
    name, expected = "real sign-in", "tokens, access token live"
    pair = calls(g.learner.make_pkce_pair).value
    verifier, challenge = pair if isinstance(pair, tuple) and len(pair) == 2 else ("", "")
    state = secrets.token_urlsafe(32)
    url = calls(g.learner.authorization_url, g.app, state, challenge).value
    if not (isinstance(url, str) and url.startswith(g.app.authorization_endpoint + "?")):  # never another host
        return Row(name, expected, "no sign-in: the URL is not the authorize endpoint's", False,
                   why="the browser must be sent to the authorization server's authorize endpoint, with the request "
                   "in the query.", fix="fix the row 'authorize URL' first.")
    try:
        redirect = sign_in(url, g.user.login, g.user.password)
    except (SignInError, requests.RequestException) as error:
        redirect = f"?error=sign_in_page&error_description={type(error).__name__}"
    g.secrets += [str(verifier), dict(parse_qsl(urlsplit(redirect).query)).get("code", str(verifier))]
    if "error=" in urlsplit(redirect).query:
        said = dict(parse_qsl(urlsplit(redirect).query)).get("error_description", "no description")
        return Row(name, expected, f"the sign-in page refused: {said}", False,
                   why="the authorization server refused your authorize URL or PKCE challenge before any sign-in.",
                   fix="fix the rows 'PKCE pair' and 'authorize URL' first.")
    outcome = calls(g.learner.handle_redirect, g.app, redirect, state, verifier)
    tokens, problem = returned_tokens(outcome, g.secrets)
    if problem:
        return Row(name, expected, problem, False,
                   why="a correct redirect must end in tokens: the code exchange with the verifier and the app's "
                   "client id and secret (HTTP Basic) at the token endpoint.",
                   fix="POST grant_type=authorization_code, code, redirect_uri and code_verifier with "
                   "auth=(app.client_id, app.client_secret), and return the JSON answer.")
    g.secrets += [tokens["access_token"], str(tokens.get("refresh_token"))]
    if not g.active(tokens["access_token"]) or not tokens.get("refresh_token"):
        return Row(name, expected, "an access token the server does not know, or no refresh token", False,
                   why="return the token endpoint's answer as it came: the access_token and refresh_token it issued.",
                   fix="return response.json() (after checking it succeeded).")
    return Row(name, expected, "tokens, access token live", True)


def _refused_row(g: _Grader, name: str, expected: str, attempt: Callable[[], Any], *, must_say: str,
                 before_token_request: bool, why: str, fix: str, must_not_say: str = "",
                 crash: type[BaseException] | None = None) -> Row:
    """A row where the learner's function must raise, say `must_say`, show no secret (and send nothing).

    `must_not_say`: text of the attacker's that a refusal must not repeat as if it were true; `crash`: an
    exception type that is a crash here, not a refusal (a KeyError for a missing query parameter).
    """
    start = g.token_requests()
    outcome = attempt()
    sent = g.token_requests() - start
    got, passed = refusal(outcome, must_say, g.secrets)
    if passed and crash is not None and isinstance(outcome.exception, crash):
        got, passed = shown(f"crashed: {outcome.error}", g.secrets), False
    if passed and must_not_say and must_not_say.lower() in str(outcome.exception).lower():
        got, passed = f"raised, repeating the forged redirect's '{must_not_say}'", False
    if passed and before_token_request and sent:
        got, passed = f"{got}, after {sent} token request(s)", False
    if got.startswith("raised, but the message holds"):
        why = ("your function refused, but its error message holds a code, verifier, token or the client secret: "
               "messages end up in logs and on screens, where anyone can copy them.")
        fix = "put only the server's error and error_description (or your own words) in the message."
    return Row(name, expected, got, passed, why="" if passed else why, fix="" if passed else fix)


def grade_sign_in(learner: SimpleNamespace, app: Any, okta: LocalOkta) -> list[Row]:
    """Grade the learner's functions (attributes of `learner`) against the running local server `okta`."""
    g = _Grader(learner, app, okta)
    rows = [pair_row(learner.make_pkce_pair), url_row(learner.authorization_url, app), _end_to_end_row(g)]

    def forged_state(state_in_redirect: str | None) -> Callable[[], Any]:
        """A real redirect whose state is `state_in_redirect` (None: no state at all) instead of the sign-in's."""
        def attempt():
            redirect, state, verifier = g.reference_sign_in()
            query = [(key, value) for key, value in parse_qsl(urlsplit(redirect).query) if key != "state"]
            query += [("state", state_in_redirect)] if state_in_redirect is not None else []
            return calls(learner.handle_redirect, app, urlunsplit(urlsplit(redirect)._replace(query=urlencode(query))),
                         state, verifier)
        return attempt

    state_fix = ("compare query.get('state', '') with expected_state using hmac.compare_digest, and raise SignInError "
                 "saying the state does not match, before any token request.")
    rows.append(_refused_row(
        g, "wrong state", "refused, nothing sent", forged_state("attacker-made-state"), must_say="state",
        before_token_request=True,
        why="a redirect whose state is not the one you sent was not stopped (or your error did not say the state "
        "does not match): an attacker can sign your user in as the attacker (login CSRF). Only your code can stop "
        "this; the server cannot.", fix=state_fix,
    ))
    rows.append(_refused_row(
        g, "missing state", "refused, nothing sent", forged_state(None), must_say="state", before_token_request=True,
        crash=KeyError,
        why="a redirect with no state at all was not refused as forged: a missing state is a mismatch too, and "
        "skipping the check when state is absent lets the attacker's redirect in (a KeyError is a crash, not a "
        "refusal).",
        fix="a missing state is a mismatch too: compare query.get('state', '') with expected_state using "
        "hmac.compare_digest, and raise SignInError saying the state does not match.",
    ))

    def forged_error():
        state = secrets.token_urlsafe(32)
        query = urlencode({"error": "access_denied", "error_description": "User denied the request.",
                           "state": "attacker-made-state"})
        return calls(learner.handle_redirect, app, f"{app.redirect_uri}?{query}", state, secrets.token_urlsafe(64))

    rows.append(_refused_row(
        g, "error with wrong state", "refused as forged (state)", forged_error, must_say="state",
        before_token_request=True, must_not_say="User denied the request.",
        why="an error redirect whose state is not yours was reported as a real answer: it is forged, and its error "
        "text is the attacker's words. Check state first, then read error.",
        fix="move the state check above the error check in handle_redirect: refuse a wrong state before "
        "reading anything else in the query.",
    ))

    def denied():
        state = secrets.token_urlsafe(32)
        query = urlencode({"error": "access_denied", "error_description": "User denied the request.", "state": state})
        return calls(learner.handle_redirect, app, f"{app.redirect_uri}?{query}", state, secrets.token_urlsafe(64))

    rows.append(_refused_row(
        g, "error=access_denied", "refused, with description", denied, must_say="User denied the request.",
        before_token_request=True,
        why="a redirect with error= carries no code: the person said no (or the server refused). Your code must "
        "stop and say so, with the error_description, instead of trying an exchange or returning nothing.",
        fix="if 'error' is in the query, raise an exception with query['error'] and query['error_description'].",
    ))

    def replayed():
        redirect, state, verifier = g.reference_sign_in()
        calls(learner.handle_redirect, app, redirect, state, verifier)  # the first use spends the code
        return calls(learner.handle_redirect, app, redirect, state, verifier)

    refused_grant_fix = ("check the token endpoint's answer: unless it is HTTP 200 with an access_token, raise an "
                         "exception with the answer's error and error_description.")
    rows.append(_refused_row(
        g, "replayed code", "refused: invalid_grant", replayed, must_say="invalid_grant", before_token_request=False,
        why="the server refused the code the second time (a code is single use), but your function did not report "
        "it as a failure: a caller would treat an empty answer as a signed-in user.", fix=refused_grant_fix,
    ))

    def wrong_verifier():
        redirect, state, _ = g.reference_sign_in()
        other = secrets.token_urlsafe(64)
        g.secrets.append(other)
        return calls(learner.handle_redirect, app, redirect, state, other)

    rows.append(_refused_row(
        g, "wrong verifier", "refused: invalid_grant", wrong_verifier, must_say="invalid_grant",
        before_token_request=False,
        why="the server refused the exchange (the verifier does not match the challenge), and your function must "
        "say so with the server's error, not return as if it had tokens.", fix=refused_grant_fix,
    ))
    rows += _refresh_rows(g)
    return rows


def _refresh_rows(g: _Grader) -> list[Row]:
    first = g.reference_tokens()
    old = first["refresh_token"]
    name, expected = "refresh", "new tokens, new refresh token"
    outcome = calls(g.learner.refresh, g.app, old)
    tokens, problem = returned_tokens(outcome, g.secrets)
    if tokens:
        g.secrets += [tokens["access_token"], str(tokens.get("refresh_token"))]
    if problem:
        row = Row(name, expected, problem, False,
                  why="a refresh is a POST grant_type=refresh_token with the app's client authentication; "
                  "return the new tokens.", fix="POST grant_type=refresh_token and refresh_token with "
                  "auth=(app.client_id, app.client_secret); return the JSON answer.")
    elif tokens.get("refresh_token") == old or not g.active(str(tokens.get("refresh_token"))):
        row = Row(name, expected, "returned the old (rotated-out) refresh token", False,
                  why="with rotation each refresh returns a new refresh token and retires the old one: keep the new "
                  "one, or the next refresh after the grace period is a reuse and ends the sign-in.",
                  fix="return the answer's refresh_token; fall back to the old one only when the answer has none.")
    else:
        row = Row(name, expected, "new tokens, new refresh token", True)

    def reused():
        with g.no_grace_period():
            return calls(g.learner.refresh, g.app, old)

    return [row, _refused_row(
        g, "reused refresh token", "refused: invalid_grant", reused, must_say="invalid_grant",
        before_token_request=False,
        why="a rotated-out refresh token used after the grace period is refused (and ends the sign-in); your "
        "function must report that refusal so the caller signs the person in again.", fix=(
            "check the answer: unless it is HTTP 200 with an access_token, raise with its error and error_description."),
    )]


def grader_app_placeholder() -> SimpleNamespace:
    """An app with every field set, for calling the learner's functions before any server runs."""
    return SimpleNamespace(authorization_endpoint="https://authorization-server.invalid/authorize",
                           token_endpoint="https://authorization-server.invalid/token", client_id="client",
                           client_secret="not-a-secret", redirect_uri=REDIRECT_URI, scope="openid")


def check_sign_in(
    make_pkce_pair, authorization_url, handle_redirect, refresh, *, okta: LocalOkta | None = None,
    exercise: str = "Exercise 6.2",
) -> list[Row]:
    """Notebook 06's check: grade the four functions on `okta` (or a private local server) and report."""
    tries = [calls(make_pkce_pair), calls(authorization_url, grader_app_placeholder(), "state", "challenge")]
    if all(outcome.value is None and outcome.exception is None for outcome in tries):  # the stubs, as committed
        raise ExerciseFeedback(
            exercise, "your functions still return nothing: their bodies are `...`.",
            "write the five functions in the exercise cell above (start with make_pkce_pair), run it, then this check.",
            wrong_try=False,
        )
    own = okta is None
    server = start_local_okta(name="sign-in-grader") if own else okta
    try:
        learner = SimpleNamespace(make_pkce_pair=make_pkce_pair, authorization_url=authorization_url,
                                  handle_redirect=handle_redirect, refresh=refresh)
        rows = grade_sign_in(learner, grader_app(server), server)
    finally:
        if own:
            server.stop()
    report(exercise, rows, success="your sign-in makes a right PKCE pair, signs in, refreshes with rotation, "
           "and refuses a wrong or missing state (on an error redirect too), an error redirect, a replayed code, a wrong "
           "verifier and a reused refresh token.")
    return rows
