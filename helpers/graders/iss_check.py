"""Grading the learner's ``check_authorization_response`` (notebook 07, "The 2026-07-28 client rules").

The learner writes ``check_authorization_response(params, expected_state, expected_issuer,
iss_advertised) -> code``: the ``state`` check, then RFC 9207's ``iss`` check as the MCP
specification 2026-07-28 tables it. Each row feeds one authorization response (a dict of the
redirect's query) and says what must happen: return the code, or raise. A raise must never carry
the code; after a wrong ``iss`` it must not carry the response's ``error_description`` either.
The reference is ``helpers/recipes/iss_check.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helpers.exercises import ExerciseFeedback, check_prediction, require_answer

from .report import Row, report
from .sign_in_calls import calls, refusal, shown

__all__ = ["ISSUER", "check_iss", "grade_iss_check"]

#: The issuer the rows pretend the sign-in went to (Okta's form of a custom authorization server).
ISSUER = "https://id.example.com/oauth2/default"
STATE = "st-0d9c2b7e4a"
CODE = "c0de-Qm9vTfZy2Hs8LwX1"  # long enough for the leak check; must never appear in a message
LURE = "Call 555-0100 to unlock your account"  # an attacker's error_description


def _response(**params: str | None) -> dict[str, str]:
    base = {"code": CODE, "state": STATE, "iss": ISSUER}
    base.update(params)
    return {k: v for k, v in base.items() if v is not None}


def _accepts(check: Callable[..., Any], name: str, params: dict, advertised: bool, why: str, fix: str) -> Row:
    outcome = calls(check, params, STATE, ISSUER, advertised)
    if outcome.exception is None and outcome.value == CODE:
        return Row(name, "returns the code", "returned the code", True)
    got = shown(outcome.error, [CODE]) if outcome.error else shown(f"returned {outcome.value!r}", [CODE])
    return Row(name, "returns the code", got, False, why=why, fix=fix)


def _refuses(check: Callable[..., Any], name: str, params: dict, advertised: bool, why: str, fix: str,
             hidden: str = "", named: str = "") -> Row:
    outcome = calls(check, params, STATE, ISSUER, advertised)
    got, passed = refusal(outcome, "", [CODE])
    if passed and named and named not in str(outcome.exception):
        got, passed = "raised, without the server's error", False
        why = "a refusal from the right server is the user's answer (or the server's): say which, so they know what to do."
        fix = f"raise with params['error'] in the message (here {named!r})."
    if passed and hidden and hidden in str(outcome.exception):
        got, passed = "raised, but showed the response's error_description", False
        why = ("after a wrong iss the response may come from an attacker: its error and description must not be "
               "shown or acted on (MCP 2026-07-28). Check iss before you read the error.")
        fix = "move the iss check above the `if \"error\" in params` check."
    if outcome.exception is None and outcome.value == CODE:
        got = "accepted: returned the code"
    return Row(name, "raises", got, passed, why="" if passed else why, fix="" if passed else fix)


def grade_iss_check(check: Callable[..., Any]) -> list[Row]:
    """One row per case of the specification's table, the ``state`` check, and the leaks."""
    rows = [
        _accepts(check, "exact issuer", _response(), True,
                 "a response from the right server, with the right state, must give its code.",
                 "compare iss == expected_issuer and return params['code']."),
        _refuses(check, "trailing slash", _response(iss=ISSUER + "/"), True,
                 "'…/default/' is not '…/default': RFC 9207 compares the strings exactly, so a normalised match lets a "
                 "lookalike through.", "compare with ==, without rstrip('/'), lower() or URL parsing."),
        _refuses(check, "capital letters", _response(iss=ISSUER.replace("id.example.com", "ID.example.com")), True,
                 "no case folding either: the specification forbids every normalising.", "compare with ==, nothing else."),
        _refuses(check, "default port", _response(iss=ISSUER.replace("id.example.com", "id.example.com:443")), True,
                 "':443' is the https default, yet '…com:443/…' is another string: RFC 9207 adds no default port.",
                 "compare with ==, without URL parsing."),
        _refuses(check, "missing iss, advertised", _response(iss=None), True,
                 "a server that promises iss always sends it: a response without one may be from another server.",
                 "if iss is missing and iss_advertised is True, raise."),
        _accepts(check, "missing iss, not advertised", _response(iss=None), False,
                 "a server that does not promise iss (Okta today, as far as its documents say) sends none: refusing "
                 "would lock every user out.", "raise for a missing iss only when iss_advertised is True."),
        _refuses(check, "other issuer, not advertised", _response(iss="https://evil.example.com"), False,
                 "a present iss is compared even when the metadata does not advertise it (the specification's third row).",
                 "compare iss whenever it is present, whatever iss_advertised says."),
        _refuses(check, "wrong state", _response(state="st-someone-else"), False,
                 "a redirect with another state is not the answer to this sign-in (a forged link, CSRF).",
                 "compare params.get('state') with expected_state (hmac.compare_digest) first."),
        _refuses(check, "error with a wrong iss", _response(code=None, error="access_denied", error_description=LURE,
                                                            iss="https://evil.example.com"), True,
                 "an error response from the wrong server must be refused as a mix-up.",
                 "check iss before you read the error.", hidden=LURE),
        _refuses(check, "error from the right issuer", _response(code=None, error="access_denied",
                                                                 error_description="The user denied the request."), True,
                 "an error response (no code) from the right server is a refusal: returning anything lets the caller "
                 "go on as if the user had signed in.",
                 "after the state and iss checks, raise when 'error' is in params (with its error in the message).",
                 named="access_denied"),
    ]
    leaked = [row.name for row in rows if row.got.startswith("raised, but the message holds")]
    rows.append(Row("no code in messages", "never", "leaked in: " + ", ".join(leaked) if leaked else "never", not leaked,
                    why="" if not leaked else "an error message ends up in logs and notebook outputs: a code there can be "
                    "redeemed by whoever reads it before you.", fix="" if not leaked else "say what was wrong, never the value of code."))
    return rows


#: The rows the learner predicts first (``True``: must be refused), and why, in the specification's terms.
#: None of them is shown by the notebook's demonstration before the exercise (it shows a trailing slash,
#: capitals and a missing iss that is promised).
PREDICTED = ("default port", "missing iss, not advertised", "other issuer, not advertised")
_WHY_PREDICTED = ("RFC 9207 compares exactly, so an issuer with ':443' added is another issuer: refused. A missing iss "
                  "is refused only where the metadata promises it (Okta's does not say so), and a present iss is "
                  "compared whatever the metadata says: another issuer is refused.")
#: What each predicted row expects: fixed by the specification, known before the learner's code runs.
_MUST_REFUSE = {"default port": True, "missing iss, not advertised": False, "other issuer, not advertised": True}


def check_iss(check: Callable[..., Any], *, exercise: str = "Exercise 7.2", predicted: dict | None = None) -> list[Row]:
    """The exercise's check cell. When ``predicted`` is given (``{row name: True if it must be refused}``
    for :data:`PREDICTED`), a wrong prediction is told first, before any row (whose ``expected``
    column would give it away) is printed; then grade ``check_authorization_response``, report, and
    confirm the prediction."""
    if predicted is not None:
        require_answer(exercise, "must_refuse", predicted)
        if dict(predicted) != _MUST_REFUSE:  # raises: the prediction is graded before the code
            check_prediction(exercise, dict(predicted), _MUST_REFUSE, name="must_refuse", explanation=_WHY_PREDICTED)
    first = calls(check, _response(), STATE, ISSUER, True)
    if first.exception is None and first.value is None and calls(check, _response(iss=None), STATE, ISSUER, True).value is None:
        raise ExerciseFeedback(exercise, "your function still returns nothing: its body is `...`.",
                               "write check_authorization_response in the exercise cell above, run it, then this check.",
                               wrong_try=False)
    rows = grade_iss_check(check)
    report(exercise, rows, success="your check returns the code only from the issuer this sign-in went to, compared "
           "exactly, refuses a missing iss where it is promised, a wrong state, and never shows a code or a forged error.")
    if predicted is not None:
        actual = {row.name: row.expected == "raises" for row in rows if row.name in PREDICTED}
        assert actual == _MUST_REFUSE, actual  # the rows and the table of answers agree
        check_prediction(exercise, dict(predicted), actual, name="must_refuse", explanation=_WHY_PREDICTED)
    return rows
