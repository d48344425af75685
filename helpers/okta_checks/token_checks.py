"""The checks that ask for tokens: one client-credentials token per scope, the read-only app's
limits, the claims of the tokens, and the calculator's own verification of them.

The secret goes only to the token endpoint the issuer's metadata names; no secret and no whole
token ever goes into a result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
from collections.abc import Callable

import jwt

from helpers.rate_limits import seconds_until_reset
from helpers.verification import Protection

from . import diagnosis as fixes
from .http import Problem, Run, error_of, json_or_none
from .results import Status

__all__ = ["check_read_only", "check_token_claims", "check_verification", "token_check"]

# FastMCP's verifier logs every refusal (WARNING for a wrong audience); the checks report
# refusals themselves, so its messages must not reach a terminal or a notebook cell.
_QUIET = logging.getLogger("helpers.okta_checks.verifier")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def request_token(run: Run, client, scope: str):
    """One client-credentials request for ``scope``: the HTTP response and its parsed body."""
    response = run.request(
        "POST", run.credential_url(run.metadata.get("token_endpoint"), "token endpoint"), "token endpoint",
        auth=(client.client_id, client.client_secret),
        data={"grant_type": "client_credentials", "scope": scope}, headers={"Accept": "application/json"},
    )
    return response, json_or_none(response)


def token_check(scope: str) -> Callable[[Run], tuple]:
    def check(run: Run):
        client = run.settings.m2m_client
        if client is None or not client.client_secret:
            return Status.FAIL, "M2M_CLIENT_ID and M2M_CLIENT_SECRET are not set", (
                "Create the service app (Applications and Resources > Applications > Create App Integration > API "
                "Services), then " + fixes.CLIENT_SECRET_FIX
            )
        response, body = request_token(run, client, scope)
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            run.tokens[scope] = body["access_token"]
            expires = body.get("expires_in")
            lifetime = f", expires in {expires} s" if isinstance(expires, int) else ""
            return Status.PASS, f"HTTP 200, {body.get('token_type', 'a')} token{lifetime}", None
        found_error = error_of(body)
        if found_error is None:
            return Status.FAIL, (
                f"HTTP {response.status_code} from the token endpoint, not an OAuth answer"
            ), "Check that OAUTH_ISSUER is your custom authorization server. " + fixes.ISSUER_FIX
        error, description = found_error
        found = fixes.token_error(error, description, scope)
        cause = found.cause
        if response.status_code == 429:  # Okta's rate limit: the answer says when it resets
            cause += f" (rate limited by Okta, retry after {math.ceil(seconds_until_reset(response.headers))} s)"
        return Status.FAIL, f"HTTP {response.status_code} {error} \"{description}\": {cause}", found.fix

    return check


def check_read_only(run: Run):
    """The read-only app (READ_M2M_*) gets calculator.add and is refused calculator.subtract."""
    client = run.settings.read_only_client
    if client is None:
        return Status.WARN, "READ_M2M_CLIENT_ID is not set: the read-only service of notebook 05 is not checked", \
            fixes.READ_ONLY_APP_FIX
    response, body = request_token(run, client, "calculator.add")
    if response.status_code != 200:
        found = error_of(body) or (f"HTTP {response.status_code}", "")
        diagnosis = fixes.token_error(*found, "calculator.add", app="read-only")
        return Status.FAIL, f"calculator.add: HTTP {response.status_code} {found[0]} \"{found[1]}\": {diagnosis.cause}", diagnosis.fix
    response, body = request_token(run, client, "calculator.subtract")
    if response.status_code == 200:
        return Status.FAIL, ("the read-only app got calculator.subtract: a policy other than its own matched "
                             "(a Default Policy for All clients, or a rule with Any scopes)"), fixes.DEFAULT_POLICY_FIX
    return Status.PASS, f"calculator.add granted, calculator.subtract refused (HTTP {response.status_code})", None


def check_token_claims(run: Run):
    settings, problems, fix = run.settings, [], None
    for scope, token in run.tokens.items():
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return Status.FAIL, f"the {scope} token is not a JWT", \
                "Okta custom authorization servers issue JWT access tokens. " + fixes.ISSUER_FIX
        aud = claims.get("aud")
        if not (aud == settings.audience or (isinstance(aud, list) and settings.audience in aud)):
            problems.append(f"aud is {aud!r} but OAUTH_AUDIENCE is {settings.audience!r}")
            fix = fix or fixes.AUDIENCE_FIX
        if claims.get("iss") != settings.issuer:
            problems.append(f"iss is {claims.get('iss')!r}, not OAUTH_ISSUER")
            fix = fix or fixes.ISSUER_FIX
        granted = claims.get("scp")
        if not isinstance(granted, list) or sorted(granted) != [scope]:
            problems.append(f"scp is {granted!r}, not [{scope!r}]")
            fix = fix or fixes.RULE_SCOPES_FIX.format(scope=scope)
        if problems:
            seen = "; ".join(dict.fromkeys(problems))
            return Status.FAIL, f"{seen}: the server would refuse every token", fix
    return Status.PASS, "iss = OAUTH_ISSUER, aud = OAUTH_AUDIENCE, scp = the requested scope", None


def check_verification(run: Run):
    settings = run.settings
    jwks_uri = settings.jwks_uri or run.metadata.get("jwks_uri")
    if not settings.audience:
        return Status.FAIL, "no audience is configured, so the server could verify nothing", \
            "Set OAUTH_AUDIENCE. " + fixes.AUDIENCE_FIX
    protection = Protection(
        issuer=settings.issuer, audience=settings.audience, jwks_uri=jwks_uri,
        verify_timeout_seconds=run.timeout,
    )
    accepted = verify_all(protection, list(run.tokens.values()))
    for (scope, token), ok in zip(run.tokens.items(), accepted):
        if not ok:
            reason, fix = why_refused(run, token, jwks_uri)
            return Status.FAIL, f"the {scope} token was refused: {reason}", fix
    return Status.PASS, "accepted: signature, iss, aud, exp and iat all check out", None


def verify_all(protection: Protection, tokens: list[str]) -> list[bool]:
    """Run the server's own verifier on each token (in a worker thread with its own loop, so
    this works from a terminal and from a notebook cell whose loop is already running)."""
    verifier = protection.verifier()
    verifier.logger = _QUIET

    async def verify() -> list[bool]:
        return [await verifier.verify_token(token) is not None for token in tokens]

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, verify()).result()


def why_refused(run: Run, token: str, jwks_uri: str) -> tuple[str, str]:
    """The likeliest reason the verifier refused ``token``, and its fix."""
    settings = run.settings
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return "it is not a JWT", "Okta custom authorization servers issue JWT access tokens. " + fixes.ISSUER_FIX
    try:
        keys = run.get_json(jwks_uri, "JWKS").get("keys") or []
    except Problem as problem:
        return f"the JWKS could not be read ({problem})", fixes.JWKS_URI_FIX
    if kid not in [k.get("kid") for k in keys if isinstance(k, dict)]:
        return f"its signing key is not in the JWKS at {jwks_uri}", fixes.JWKS_URI_FIX
    aud = claims.get("aud")
    if not (aud == settings.audience or (isinstance(aud, list) and settings.audience in aud)):
        return "its aud is not OAUTH_AUDIENCE", fixes.AUDIENCE_FIX
    if claims.get("iss") != settings.issuer:
        return "its iss is not OAUTH_ISSUER", fixes.ISSUER_FIX
    return "see helpers.verification for the checks (exp, iat, RS256)", (
        "Check the clock of this machine (tokens are checked for exp and iat) and the settings above."
    )
