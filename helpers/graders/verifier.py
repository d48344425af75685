"""Notebook 03's attack runner: the series' bad tokens against the learner's own calculator server.

The learner writes ``calculator_server(base_url, *, issuer, audience, jwks_uri) -> FastMCP``: their
token check plugged in as the server's token verifier, and ``require_scopes`` on the tools.
:func:`grade_verifier` serves it on 127.0.0.1, trusting the local authorization server (whose
private key signs the forgeries), sends every token of :func:`helpers.bad_tokens.bad_tokens`, a
valid one, none at all, and a token without ``calculator.subtract``, each as a real ``tools/call``,
and returns one :class:`~helpers.graders.report.Row` per token. A refusal is any answer that does
not run the tool (401, 403, or FastMCP's "Unknown tool"); an acceptance is the tool's result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import jwt
import requests
from fastmcp import FastMCP

from helpers import background
from helpers.bad_tokens import bad_tokens, typical_claims
from helpers.calculator import MCP_PATH, quiet_server_logs
from helpers.exercises import ExerciseFeedback
from helpers.graders.report import Row, report

__all__ = ["ServerNotServed", "check_verifier", "grade_verifier", "probe", "require_running"]

SERVER_NAME = "graded-calculator"
BOTH_SCOPES = ["calculator.add", "calculator.subtract"]
ALGORITHM_FIX = 'check the signature (never verify_signature False) with a fixed algorithms=["RS256"], never the token\'s alg.'
AUDIENCE_FIX = "pass audience=audience to jwt.decode (and never turn verify_aud off)."
#: Graded here, not among helpers.bad_tokens: PyJWT refuses none and HS256-with-an-RSA-key by itself, even
#: for a verifier that takes the algorithm from the token's header; this one only a fixed list refuses.
OTHER_ALGORITHM = "RS512, real key"



class ServerNotServed(ValueError):
    """The learner's ``calculator_server`` raised, or returned something other than a FastMCP server."""


#: For each bad token: why it got through (the hint) and the specific change (the fix).
ADVICE: dict[str, tuple[str, str]] = {
    "expired": ("a token that expired an hour ago got in: its exp is not checked (verify_exp off, or a leeway of hours).",
                "let jwt.decode check exp (no verify_exp False) and keep the leeway to seconds (30)."),
    "wrong audience": ("a token Okta issued for another API (aud api://default) got in: your check does not compare aud "
                       "with your audience.", AUDIENCE_FIX),
    "wrong issuer": ("a token that names another authorization server as iss got in: your check does not compare iss "
                     "with your issuer.", "pass issuer=issuer to jwt.decode (and never turn verify_iss off)."),
    "tampered": ("a token whose scopes were edited after signing got in: its signature is not checked.",
                 "decode with the key from the JWKS (signing_key.key), never with verify_signature off."),
    "alg none": ("an unsigned token (its header says alg none) got in: the token chooses its own algorithm, or no "
                 "signature is checked.", ALGORITHM_FIX),
    "HS256 + public key": ("a token HMAC-signed with the issuer's public key got in: the algorithm comes from the token "
                           "(algorithm confusion): anyone has the public key, so anyone can sign.", ALGORITHM_FIX),
    "unknown kid": ("a token whose kid names no published key got in: the key is not picked by the token's kid from "
                    "the JWKS.", "get the key with jwks_client.get_signing_key_from_jwt(token), which refuses an unknown kid."),
    "no exp": ("a token without exp got in: it would be valid forever.",
               'require the claims your server relies on: options={"require": [...]} in jwt.decode, exp among them.'),
    "future iat": ("a token issued an hour from now got in: iat is not checked against the clock (or the leeway is "
                   "an hour).", "refuse a token whose iat is later than now + leeway, with a leeway of seconds (30)."),
    "ID token": ("an ID token (its aud is the web app's client id) got in: it tells an app who signed in; it is no key "
                 "to an API. The audience check stops it (and, as it has no scp, each tool's scope).", AUDIENCE_FIX),
    OTHER_ALGORITHM: ("a token signed with the issuer's real key, but with RS512 (its header's alg), got in: your verifier "
                      "lets the token choose its algorithm. Okta's tokens are RS256; whatever else a header names is the "
                      "sender's choice, not Okta's.", ALGORITHM_FIX),
}


def _call(url: str, tool: str, token: str | None, expected: int) -> tuple[bool, str]:
    """One tools/call: (did the tool run and give `expected`, what the server answered, in a few words)."""
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"a": 5, "b": 3}}}
    response = requests.post(url, json=body, headers=headers, timeout=10)
    if response.status_code != 200:
        error = _challenge_error(response.headers.get("WWW-Authenticate", ""))
        return False, f"refused: HTTP {response.status_code}" + (f" {error}" if error else "")
    message = _json_rpc_message(response)
    result = message.get("result") or {}
    if result and not result.get("isError") and (result.get("structuredContent") or {}).get("result") == expected:
        return True, f"accepted: {tool} = {expected}"
    error = message.get("error", {}).get("message") or " ".join(
        item.get("text", "") for item in result.get("content", []) if isinstance(item, dict))
    return False, f"refused: HTTP 200, {error[:40] or 'no result'}"


def _challenge_error(header: str) -> str:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.endswith("error"):
            return value.strip('"')
    return ""


def _json_rpc_message(response: requests.Response) -> dict[str, Any]:
    """The JSON-RPC message of a 200: the body itself, or the `data:` line of a Server-Sent Event."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data: "):
            return json.loads(line[6:])
    return {}


def grade_verifier(calculator_server: Callable[..., FastMCP], forger: Any) -> list[Row]:
    """Serve the learner's server (trusting ``forger``, the local authorization server) and attack it.

    ``calculator_server(base_url, *, issuer, audience, jwks_uri)`` must return the FastMCP server.
    Raises :class:`ServerNotServed` when it cannot be built or served at all.
    """
    quiet_server_logs()

    def app_for_url(base_url: str):
        mcp = calculator_server(base_url, issuer=forger.issuer, audience=forger.audience, jwks_uri=forger.jwks_uri)
        if not isinstance(mcp, FastMCP):
            raise TypeError(f"calculator_server returned {type(mcp).__name__}, not the FastMCP server")
        return mcp.http_app(path=MCP_PATH, stateless_http=True)

    try:
        server = background.start(name=SERVER_NAME, app_for_url=app_for_url)
    except Exception as error:  # the learner's code failed: say what it raised
        cause = error.__cause__ or error
        first_line = (str(cause).splitlines() or [""])[0][:200]
        raise ServerNotServed(f"{type(cause).__name__}: {first_line}") from error
    # A verifier that raises makes a 500, and uvicorn would print its traceback into the notebook.
    server_errors = logging.getLogger("uvicorn.error")
    level = server_errors.level
    server_errors.setLevel(logging.CRITICAL)
    try:
        return _attack(server.url + MCP_PATH, forger)
    finally:
        server.stop()
        server_errors.setLevel(level)


def _attack(url: str, forger: Any) -> list[Row]:
    good = typical_claims(issuer=forger.issuer, audience=forger.audience,
                          client_id=forger.clients["write_service"].client_id, scopes=BOTH_SCOPES)
    valid = forger.sign_token(good)
    add_only = forger.sign_token({**good, "scp": ["calculator.add"]})
    rows = []
    valid_ok, got = _call(url, "add", valid, 8)
    crashed = "HTTP 500" in got
    rows.append(Row("valid token: add", "accepted", got, valid_ok,
                    "a correct token (signed by the issuer, for your audience, unexpired) was refused: " + (
                        "your server failed on it (HTTP 500): does verify_access_token return the claims dict (not None), "
                        "and raise only jwt errors?" if crashed else
                        "your check refuses good tokens too. Run verify_access_token on a token yourself and read its error."),
                    "return jwt.decode(...)'s claims; decode with the JWKS key its kid names, algorithms, issuer and audience."))
    passed, got = _call(url, "subtract", valid, 2)
    rows.append(Row("valid token: subtract", "accepted", got, passed,
                    "a token with both scopes could not subtract: " + (
                        "subtract requires a scope Okta does not grant (check its spelling)." if valid_ok
                        else "good tokens are refused (see the row above)."),
                    'put auth=require_scopes("calculator.subtract") on subtract.'))
    passed, got = _call(url, "add", None, 8)
    rows.append(Row("no token", "refused", got, not passed,
                    "a request without any token called add: the server has no token verifier.",
                    "build FastMCP with auth=RemoteAuthProvider(token_verifier=verifier, ...)."))
    for case in bad_tokens(forger.sign_token, kid=forger.signing_kids()[-1], public_key_pem=forger.public_key_pem(),
                           claims=good, web_client_id=forger.clients["web"].client_id):
        passed, got = _call(url, "add", case.token, 8)
        why, fix = ADVICE[case.name]
        rows.append(Row(case.name, "refused", got, not passed, why, fix))
    other_algorithm = forger.sign_token(good, headers={"alg": "RS512"})  # the issuer's key and kid, another algorithm
    passed, got = _call(url, "add", other_algorithm, 8)
    rows.append(Row(OTHER_ALGORITHM, "refused", got, not passed, *ADVICE[OTHER_ALGORITHM]))
    passed, got = _call(url, "subtract", add_only, 2)
    rows.append(Row("add-only token: subtract", "refused", got, not passed,
                    "a genuine token granting only calculator.add called subtract: subtract requires no scope.",
                    'put auth=require_scopes("calculator.subtract") on subtract.'))
    passed, got = _call(url, "add", add_only, 8)
    rows.append(Row("add-only token: add", "accepted", got, passed,
                    "a token granting calculator.add could not add: " + (
                        "add requires a scope other than calculator.add." if valid_ok
                        else "good tokens are refused (see the first row)."),
                    'put auth=require_scopes("calculator.add") on add, and no other scope.'))
    return rows


#: What a correct token's refusal means, by the PyJWT error it raised: (the idea to look at, the specific change).
REFUSAL_ADVICE: dict[str, tuple[str, str]] = {
    "InvalidAudienceError": ("PyJWT refuses a token that has aud unless you pass audience=, and then aud must equal it.",
                             AUDIENCE_FIX),
    "InvalidIssuerError": ("iss must equal the issuer= you pass, character for character: pass the issuer this function "
                           "receives, not another URL.", "pass issuer=issuer to jwt.decode."),
    "InvalidAlgorithmError": ("the token's alg is not in your algorithms= list: Okta signs its access tokens with RS256.",
                              'pass algorithms=["RS256"] to jwt.decode (a list, fixed in your code).'),
    "InvalidSignatureError": ("the signature did not verify with the key you passed: use the published key the token's "
                              "kid names.", "decode with signing_key.key, where signing_key = "
                              "jwks_client.get_signing_key_from_jwt(token)."),
    "DecodeError": ("jwt.decode could not read the token or use the key you passed: its first argument is the token "
                    "text, its second the key object from the JWKS.", "jwt.decode(token, signing_key.key, ...), where "
                    "signing_key = jwks_client.get_signing_key_from_jwt(token)."),
    "PyJWKClientConnectionError": ("the JWKS could not be fetched: use the jwks_client this function receives (it "
                                   "knows the issuer's jwks_uri), not one of your own.",
                                   "signing_key = jwks_client.get_signing_key_from_jwt(token)."),
    "PyJWKClientError": ("the JWKS client found no key for it: get_signing_key_from_jwt takes the whole token and reads "
                         "its kid itself.", "signing_key = jwks_client.get_signing_key_from_jwt(token)."),
    "ImmatureSignatureError": ("a token issued now is not in the future: refuse only an iat later than now plus the "
                               "leeway.", "raise only if claims[\"iat\"] > time.time() + leeway."),
    "ExpiredSignatureError": ("the token expires in an hour: let jwt.decode check exp, with leeway=leeway (seconds).",
                              "pass leeway=leeway to jwt.decode, and no options that change exp."),
}


def _refusal_advice(error: Exception) -> tuple[str, str]:
    """The hint and fix for the error a correct token was refused with (the most specific PyJWT class that matches)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return (f"you require a claim named {error.claim!r}, which an Okta access token does not carry: require exp, "
                "iat, iss and aud.", 'options={"require": [...]} lists claim names an Okta access token has.')
    for cls in type(error).__mro__:
        if cls.__name__ in REFUSAL_ADVICE:
            return REFUSAL_ADVICE[cls.__name__]
    return ("a token the issuer signed for your audience, unexpired, must come back as its claims dict. Which of your "
            "steps raised?", "the key from jwks_client.get_signing_key_from_jwt(token), then claims = jwt.decode(token, "
            "signing_key.key, ...), then return claims.")


def _verify_problem(verify: Callable[..., Any], forger: Any) -> tuple[str, str, str] | None:
    """(what is wrong, hint, fix) with ``verify`` on one correct token, or None."""
    good = typical_claims(issuer=forger.issuer, audience=forger.audience,
                          client_id=forger.clients["write_service"].client_id, scopes=BOTH_SCOPES)
    try:
        claims = verify(forger.sign_token(good), jwks_client=jwt.PyJWKClient(forger.jwks_uri, timeout=5),
                        issuer=forger.issuer, audience=forger.audience)
    except Exception as error:  # the learner's code: whatever it raised is the feedback
        return (f"verify_access_token refused a correct token: {type(error).__name__}: {error}", *_refusal_advice(error))
    if not isinstance(claims, dict) or claims.get("jti") != good["jti"]:
        return (f"verify_access_token returned {str(claims)[:60]} for a correct token, not its claims.",
                "return the claims dict jwt.decode gives you, at the end of the function.",
                "claims = jwt.decode(...), then return claims.")
    return None


def probe(verify: Callable[..., Any], forger: Any) -> str | None:
    """What is wrong with ``verify`` (the learner's ``verify_access_token``) on one correct token, or None."""
    problem = _verify_problem(verify, forger)
    return problem[0] if problem else None


def require_running(exercise: str, forger: Any, *, rerun: str = "run section 1's cell again, then this one.") -> None:
    """Stop, as no wrong try, when the authorization server is not running (the checkpoint stops it)."""
    if not getattr(forger, "is_running", True):
        raise ExerciseFeedback(exercise, "the authorization server is not running: the notebook's checkpoint stopped the "
                               "servers.", rerun, wrong_try=False)


def check_verifier(
    exercise: str, calculator_server: Callable[..., FastMCP], forger: Any, *, verify: Callable[..., Any] | None = None
) -> list[Row]:
    """Grade, print the table, then pass the exercise or raise feedback naming each token that got through.

    With ``verify`` (the learner's ``verify_access_token``), first make sure it returns a correct token's claims.
    """
    require_running(exercise, forger)
    problem = _verify_problem(verify, forger) if verify is not None else None
    if problem and "returned Ellipsis" in problem[0]:  # still the stub: not a wrong try
        raise ExerciseFeedback(exercise, "verify_access_token still returns `...`.",
                               "replace each `...` in the exercise cell above, run that cell, then this one.", wrong_try=False)
    if problem:
        raise ExerciseFeedback(exercise, *problem)
    try:
        rows = grade_verifier(calculator_server, forger)
    except ServerNotServed as error:
        raise ExerciseFeedback(exercise, f"your calculator_server could not be served: {error}",
                               "run the exercise cell again and read its error: is every `...` replaced?") from None
    report(exercise, rows, success="every bad token was refused, the valid one accepted, and each tool asks for its "
           "scope. Your verifier stops every attack in the series.")
    return rows
