"""Grade a learner's step 2 of the AI agent token exchange: presenting an ID-JAG for an access token.

The learner writes ``exchange_for_access_token(token_endpoint, id_jag, client_assertion) -> dict``:
the JWT bearer grant (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion`` = the
ID-JAG, the agent's two client-assertion fields, no ``scope``) posted to the custom authorization
server's token endpoint, returning Okta's token response and raising when Okta refuses.
:func:`grade_id_jag_exchange` runs it on the local server with fresh ID-JAGs the grader requests
itself (step 1 with :mod:`helpers.agent_exchange`) and returns one :class:`Row` per behaviour: a
fresh ID-JAG gives the user's token held by the agent; a replayed one and one for another audience
raise (an error body returned as if it were a token would be sent to the MCP server as one); and a
refusal's message says why without showing the ID-JAG or the client assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from ..agent_exchange import Agent, local_agent, request_id_jag, sign_in_with_password, token_endpoint_of
from ..exercises import ExerciseFeedback
from ..local_okta import LocalOkta
from .grading_server import grading_server
from .report import Row, report

__all__ = ["check_id_jag_exchange", "grade_id_jag_exchange"]

SCOPE = "calculator.add"
# The errors a token endpoint answers (RFC 6749 section 5.2): a message naming one names Okta's refusal.
OKTA_ERRORS = ("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
               "invalid_scope")
RAISE_FIX = ("after the POST, check response.status_code (or call response.raise_for_status()) and raise with Okta's "
             "error and error_description; return response.json() only for a 200.")


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def shown(self) -> str:
        return "" if self.error is None else f"{self.error} {self.error!r} {self.error.args!r}"

    def describe(self) -> str:
        if self.error is not None:
            first = (str(self.error).splitlines() or [""])[0]
            return f"raised {type(self.error).__name__}"[:40] + (": " + first[:60] if first else "")
        if isinstance(self.value, dict):
            return "returned {" + ", ".join(sorted(self.value)[:4]) + "}"
        return f"returned {type(self.value).__name__}"


def _call(function: Callable, *args) -> _Outcome:
    try:
        return _Outcome(value=function(*args))
    except Exception as error:  # the learner's code: any exception is an answer
        return _Outcome(error=error)


class _Grader:
    def __init__(self, okta: LocalOkta, exchange: Callable) -> None:
        self.okta, self.exchange = okta, exchange
        self.agent: Agent = local_agent(okta)
        user = okta.users[0]
        self.user = user
        self.id_token = sign_in_with_password(self.agent, user.login, user.password).id_token
        self.secrets: list[str] = [self.id_token]

    def id_jag(self) -> str:
        token = request_id_jag(self.agent, self.id_token, audience=self.okta.issuer, scope=SCOPE).token
        self.secrets.append(token)
        return token

    def present(self, id_jag: str, issuer: str) -> _Outcome:
        endpoint = token_endpoint_of(issuer)
        fields = self.agent.client_assertion(endpoint)
        self.secrets.append(fields["client_assertion"])
        return _call(self.exchange, endpoint, id_jag, dict(fields))

    def rows(self) -> list[Row]:
        fresh = self.id_jag()
        first = self.present(fresh, self.okta.issuer)
        replayed = self.present(fresh, self.okta.issuer)
        elsewhere = self.present(self.id_jag(), self.okta.issuer_for("other"))
        replay_text, audience_text = "The id-jag was already used.", "The audience of the JWT Bearer Grant must match"
        return [self.fresh_row(first), self.token_row(first),
                self.refused_row("a replayed ID-JAG", replayed, replay_text),
                self.refused_row("an ID-JAG for another audience", elsewhere, audience_text),
                self.message_row([(replayed, replay_text), (elsewhere, audience_text)])]

    def fresh_row(self, outcome: _Outcome) -> Row:
        passed = isinstance(outcome.value, dict) and outcome.value.get("token_type") == "Bearer" \
            and isinstance(outcome.value.get("access_token"), str)
        why = fix = ""
        if not passed:
            said = str(outcome.error or "")
            answered = self.okta_answered(outcome)
            if "scope" in said:
                why, fix = ("Okta refused a 'scope' in step 2: the ID-JAG already carries the scopes it granted at step 1.",
                            "post only grant_type, assertion and the two client_assertion fields.")
            elif "grant_type" in said:
                why = f"{answered}: it found no form field grant_type in your request."
                fix = "post a form, data={...}, not json={...}: Okta's token endpoint reads form fields only."
            elif "client_assertion_type" in said or "No client credentials" in said:
                why = f"{answered}: it did not find the agent's client authentication in the form."
                fix = ("the two client_assertion fields (client_assertion_type, client_assertion) go into the form "
                       "as they are, **client_assertion, not nested under one key.")
            else:
                why = ((f"{answered}. " if answered else "") + "A fresh ID-JAG should give Okta's token response "
                       "(token_type Bearer, access_token): the JWT bearer grant with the ID-JAG as assertion, "
                       "authenticated by the agent's client assertion.")
                fix = ('data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": id_jag, '
                       "**client_assertion}, posted to token_endpoint; return response.json().")
        return Row("a fresh ID-JAG", "Okta's token response", outcome.describe(), passed, why, fix)

    def okta_answered(self, outcome: _Outcome) -> str:
        """The first line of the learner's exception if it names Okta's error and holds no token, else ""."""
        shown = outcome.shown
        if outcome.error is None or not any(code in shown for code in OKTA_ERRORS) \
                or any(secret and secret in shown for secret in self.secrets):
            return ""
        return f'Okta refused the request (your exception: "{(str(outcome.error).splitlines() or [""])[0][:160]}")'

    def token_row(self, outcome: _Outcome) -> Row:
        token = outcome.value.get("access_token") if isinstance(outcome.value, dict) else None
        claims = {}
        if isinstance(token, str):
            self.secrets.append(token)
            try:
                claims = jwt.decode(token, options={"verify_signature": False})
            except jwt.PyJWTError:
                claims = {}
        got = f"sub {claims.get('sub', '?')}, cid {claims.get('cid', '?')}" if claims else "no access token"
        passed = claims.get("sub") == self.user.login and claims.get("cid") == self.agent.client_id
        return Row("the token: sub and cid", f"sub {self.user.login}, cid {self.agent.client_id}", got, passed,
                   "the access token should be the one Okta issued for the ID-JAG: the user as sub, the agent as cid.",
                   "return Okta's JSON answer as it is (response.json()).")

    def refused_row(self, name: str, outcome: _Outcome, okta_said: str) -> Row:
        passed = outcome.error is not None
        returned = "the error body" if isinstance(outcome.value, dict) else f"a {type(outcome.value).__name__}"
        why = (f"Okta refused ({okta_said}...) but your function returned {returned} instead of raising: the agent "
               "would then send it, or nothing, to the MCP server as if it were a token.")
        return Row(name, "raises", outcome.describe(), passed, why, RAISE_FIX)

    def message_row(self, outcomes: list[tuple[_Outcome, str]]) -> Row:
        raised = [(o, text) for o, text in outcomes if o.error is not None]
        if not raised:
            return Row("the refusal's message", "Okta's error, no token", "nothing raised", False,
                       "a refusal should raise with Okta's reason.", RAISE_FIX)
        leaked = any(secret and secret in o.shown for o, _ in raised for secret in self.secrets)
        # judged on the refusal raised: Okta's reason for the replay or the audience, or (a request Okta
        # refuses before it looks at the ID-JAG, see the first row) Okta's error for that request
        says_why = all(text in o.shown or any(code in o.shown for code in OKTA_ERRORS) for o, text in raised)
        got = "shows a token" if leaked else ("says why" if says_why else "does not say why")
        return Row("the refusal's message", "Okta's error, no token", got, says_why and not leaked,
                   "the message must name Okta's error (error, error_description) and never hold the ID-JAG or the "
                   "client assertion: messages end up in logs and tracebacks.",
                   "raise with response.json()['error'] and ['error_description'] only, not the form you posted.")


def grade_id_jag_exchange(exchange: Callable, okta: LocalOkta) -> list[Row]:
    """The rows for the learner's ``exchange`` on the local server ``okta`` (its ``ai_agent`` gets a new key)."""
    with okta.rate_limit_suspended():
        return _Grader(okta, exchange).rows()


def check_id_jag_exchange(exchange: Callable, *, okta: LocalOkta | None = None,
                          exercise: str = "Exercise 9.1") -> list[Row]:
    """The notebook's check: grade on ``okta`` (or a private local server), print the table, pass or explain."""
    probe = _call(exchange, "https://127.0.0.1:9/oauth2/default/v1/token", "id-jag", {})
    if probe.error is None and probe.value is Ellipsis:
        raise ExerciseFeedback(exercise, "exchange_for_access_token still returns `...`.",
                               "replace each `...` in the exercise cell above, run it, then this check.", wrong_try=False)
    with grading_server(okta, exercise, "id-jag-grader") as server:
        rows = grade_id_jag_exchange(exchange, server)
    report(exercise, rows, success="your agent presents the ID-JAG with its own credentials, gets the user's token "
           "(sub the user, cid the agent), and raises, without showing a token, when Okta refuses.")
    return rows
