"""Grade a learner's client assertion (private-key client authentication) against the local server.

The learner writes ``make_client_assertion(client_id, token_endpoint, private_key_pem, kid) -> str``:
a JWT signed with the private key that proves the client holds it (RFC 7523, section 2.2; the
recipe ``helpers/recipes/private_key_client.py``). :func:`grade_client_assertion` registers a key of
its own on the local server's private-key app, calls the function twice, sends the first assertion
to the token endpoint, then sends it again (a replay), and reads both assertions' header and claims.
One :class:`Row` per property: a token is granted, a replay is refused, each call has its own
``jti``, ``aud`` is the token endpoint, the lifetime is at most five minutes, the header names the
``kid``, and ``iss`` = ``sub`` = the client id. It never prints an assertion or the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import jwt
import requests
from cryptography.hazmat.primitives import serialization

from ..exercises import ExerciseFeedback
from ..local_okta import LocalOkta
from ..tokens.private_key import JWT_BEARER, generate_private_key, public_jwk
from .grading_server import grading_server
from .report import Row, report

__all__ = ["check_client_assertion", "grade_client_assertion"]

LABEL = "key_service"
MAX_LIFETIME = 300  # the exercise's bound: one request's worth, well under Okta's hour


def _post(okta: LocalOkta, assertion: str) -> requests.Response:
    return requests.post(okta.token_endpoint, timeout=10, data={
        "grant_type": "client_credentials", "scope": "calculator.add",
        "client_assertion_type": JWT_BEARER, "client_assertion": assertion})


def _answer(response: requests.Response) -> str:
    """The server's answer in a few words (never the token)."""
    if response.status_code == 200:
        return "token granted"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return f"HTTP {response.status_code} {body.get('error')}: {body.get('error_description')}"


def _read(assertion: Any) -> tuple[dict, dict] | None:
    """(header, claims) of an assertion, unverified; ``None`` when it is no JWT."""
    try:
        return jwt.get_unverified_header(assertion), jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.PyJWTError, TypeError, ValueError):
        return None


def grade_client_assertion(make_client_assertion: Callable[..., Any], okta: LocalOkta) -> list[Row]:
    """Register a fresh key on ``okta``'s private-key app, then grade the assertions the function makes."""
    key = generate_private_key()
    jwk = public_jwk(key)
    okta.register_public_key(LABEL, jwk)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    client_id, endpoint, kid = okta.clients[LABEL].client_id, okta.token_endpoint, jwk["kid"]
    # Both calls see the same clock reading, as two calls within one second do: a jti built from the
    # time then repeats every time, instead of only when the two calls fall in the same second.
    with mock.patch("time.time", return_value=time.time()):
        first = make_client_assertion(client_id, endpoint, pem, kid)
        second = make_client_assertion(client_id, endpoint, pem, kid)
    read_first, read_second = _read(first), _read(second)
    if read_first is None or read_second is None:
        shown = type(first).__name__ if read_first is None else type(second).__name__
        return [Row("a signed JWT", "a JWT (header.claims.signature)", f"a {shown} that is no JWT", False,
                    "the function must return the JWT itself: the text jwt.encode(...) returns.",
                    'return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid}).')]
    (header, claims), (_, claims_again) = read_first, read_second
    granted = _post(okta, first)
    rows = [Row("token granted", "token granted", _answer(granted), granted.status_code == 200,
                "the local token endpoint refused your assertion; its answer (the got column) names the claim.",
                "iss and sub = client_id, aud = token_endpoint, exp a minute ahead, a uuid4 jti, RS256 with the kid.")]
    if granted.status_code == 200:
        replayed = _answer(_post(okta, first))
        rows.append(Row("same assertion again", "refused: already used", replayed, "already been used" in replayed,
                        "Okta accepts an assertion once only if it has a jti: without one, anyone who copies it from a "
                        "log or a proxy gets tokens with it until it expires.",
                        'add "jti": str(uuid.uuid4()) to the claims.'))
    else:  # nothing to replay: not tested, so not passed
        rows.append(Row("same assertion again", "refused: already used", "not reached: the first one was refused", False,
                        "not tested, because the first assertion was refused and there was nothing to replay: fix "
                        "[token granted] first, then this row is tested.", "fix [token granted] first."))
    jtis = (claims.get("jti"), claims_again.get("jti"))
    rows.append(Row("two calls, two jtis", "different jtis", "different" if jtis[0] and jtis[0] != jtis[1]
                    else ("no jti" if not jtis[0] else "the same jti"), bool(jtis[0]) and jtis[0] != jtis[1],
                    "each assertion needs a jti of its own: Okta refuses a jti it has seen. "
                    + ("Your assertions have none." if not jtis[0] else "Two calls made the same jti (a fixed one, or "
                       "one built from the time, which repeats within a second)."),
                    'make the jti inside the function: "jti": str(uuid.uuid4()).'))
    audience = claims.get("aud")
    rows.append(Row("aud", "the token endpoint", "the token endpoint" if audience == endpoint else
                    ("the issuer" if audience == okta.issuer else repr(audience)[:60]), audience == endpoint,
                    "Okta wants the assertion's aud to be the endpoint invoked, the token endpoint itself, and "
                    "refuses anything else (even the issuer, which the MCP SDK uses): an assertion made for one "
                    "endpoint cannot be replayed at another.", '"aud": token_endpoint.'))
    lifetime = _lifetime(claims)
    rows.append(Row("lifetime", f"at most {MAX_LIFETIME} s", "no exp" if lifetime is None else f"{lifetime} s",
                    lifetime is not None and 0 < lifetime <= MAX_LIFETIME,
                    "an assertion is used once, right away: a long one is a long chance for whoever copies it "
                    "(Okta refuses more than an hour; without exp, it refuses it at once).",
                    '"iat": now, "exp": now + 60, with now = int(time.time()).'))
    rows.append(Row("kid header", "the key's kid", "the key's kid" if header.get("kid") == kid else
                    repr(header.get("kid")), header.get("kid") == kid,
                    "the app may hold several public keys (during a rotation, two): kid says which one checks this "
                    "signature.", 'jwt.encode(..., headers={"kid": kid}).'))
    same = claims.get("iss") == client_id and claims.get("sub") == client_id
    rows.append(Row("iss = sub = client id", "both the client id", "both the client id" if same else
                    f"iss {claims.get('iss')!r}, sub {claims.get('sub')!r}", same,
                    "the client makes the claim (iss) about itself (sub): Okta finds the app and its keys by them.",
                    '"iss": client_id, "sub": client_id.'))
    return rows


def _lifetime(claims: dict) -> int | None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)):
        return None
    start = iat if isinstance(iat, (int, float)) else time.time()
    return int(exp - start)


def check_client_assertion(make_client_assertion: Callable[..., Any], *, okta: LocalOkta | None = None,
                           exercise: str = "Exercise 8.2") -> list[Row]:
    """The notebook's check: grade on a private local server (or ``okta``) and report."""
    probe_key = generate_private_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    try:
        probe = make_client_assertion("0oa1example00000000", "https://127.0.0.1/oauth2/default/v1/token", probe_key, "kid")
    except Exception as error:  # the learner's code: say what it raised, in one line
        raise ExerciseFeedback(exercise, f"make_client_assertion raised {type(error).__name__}: {str(error)[:160]}",
                               "run it once yourself with the key and values of the cell above, and read the error.") from None
    if probe is Ellipsis or probe is None:
        raise ExerciseFeedback(exercise, "make_client_assertion still returns `...`.",
                               "replace each `...` in the exercise cell above, run that cell, then this one.",
                               wrong_try=False)
    with grading_server(okta, exercise, "assertion-grader") as server:
        rows = grade_client_assertion(make_client_assertion, server)
    report(exercise, rows, success="Okta granted a token for your assertion and refused it the second time; each "
           "assertion is for the token endpoint, lives a minute, names its key and has its own jti.")
    return rows
