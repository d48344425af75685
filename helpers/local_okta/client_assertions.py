"""Private-key client authentication (``private_key_jwt``): checking a ``client_assertion`` as Okta does.

An app whose client authentication is *Public key / Private key* holds public keys (its JWKS, the
console's *Public keys > Add key*) and no secret. To authenticate, the client signs a short JWT,
the *client assertion* (RFC 7523 section 2.2), with its private key and posts it as
``client_assertion`` with ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``.
This module is the one place the local server checks one: :func:`authenticate_client_assertion`
returns the app, or raises Okta's error for the first rule broken. Every grant calls it (the
request validator for token, introspection and revocation requests; a custom grant such as the
AI-agent token exchange can call it too).

What Okta requires, from its documents (okta-developer-docs, ``guides/build-self-signed-jwt/``
"Gather claims information" and ``guides/implement-oauth-for-okta-serviceapp/`` "Create and sign
the JWT"): ``iss`` and ``sub`` are the ``client_id``; ``aud`` is "the full URL of the resource that
you're ... using the JWT to authenticate" to (catalogue: "must be the endpoint invoked for the
request"); ``exp`` is required and fails "if the expiration time is more than one hour in the future
or if the token is already expired"; ``jti`` is optional, but "if you specify this parameter, the
token can only be used once"; ``iat`` is optional and "must be a time before the request is
received"; the signature is "RS256, RS384, RS512, ES256, ES384, ES512". Each refusal's text is from
Okta's error catalogue (its internal code beside each).

Inferred, where the documents are silent: the order of the checks; no clock leeway; an assertion
without a ``kid`` header is tried against each registered key of its algorithm's type; an ``aud``
array is accepted when it contains the endpoint (RFC 7519 section 4.1.3); a ``client_id`` form
field that differs from ``iss`` is refused as an invalid issuer; an app that authenticates with a
secret (``client_secret_jwt`` is not emulated) gets the generic ``invalid_client``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from . import errors
from .tenant import App

__all__ = [
    "ALLOWED_ALGORITHMS",
    "JWT_BEARER",
    "MAX_LIFETIME",
    "PublicKeys",
    "authenticate_client_assertion",
    "public_jwk_problem",
    "register_public_key",
]

#: ``client_assertion_type`` for a JWT client assertion (RFC 7523 section 2.2).
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: "This value must be a maximum of only one hour in the future" (service-app guide).
MAX_LIFETIME = 3600
#: The algorithms Okta lists for a private-key JWT (build-self-signed-jwt guide). Never ``none``
#: or ``HS*``: with a public key as the "secret", anyone could forge an HMAC.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
_KEY_TYPE = {"RS": "RSA", "ES": "EC"}

TYPE_INVALID = "The client_assertion_type is invalid."  # client_assertion_type_invalid (400 invalid_request)
INVALID_JWT = errors.CLIENT_ASSERTION_INVALID_JWT  # client_assertion_invalid_jwt
INVALID_ISSUER = "The issuer claim for client_assertion is not a valid client_id."  # client_assertion_invalid_issuer
INVALID_SUBJECT = "The subject claim for client_assertion is not a valid client_id."  # client_assertion_invalid_subject
INVALID_AUDIENCE = "The audience claim for client_assertion must be the endpoint invoked for the request."  # client_assertion_invalid_audience
EXPIRATION_REQUIRED = "The client_assertion must contain the 'exp' claim as seconds since epoch."  # client_assertion_expiration_required
EXPIRED = "The client_assertion token is expired."  # client_assertion_expired_token
TOO_FAR_IN_FUTURE = "The client_assertion token has an expiration too far into the future."  # client_assertion_expires_too_far_in_future
ISSUED_IN_FUTURE = "The client_assertion token must be issued before the current time."  # client_assertion_issued_at_in_future
ALREADY_USED = "The client_assertion token has already been used."  # client_assertion_already_used
INVALID_SIGNATURE = "The client_assertion signature is invalid."  # client_assertion_invalid_signature
INVALID_KID = "The client_assertion JWT kid is invalid."  # client_assertion_invalid_kid
INVALID_ALGORITHM = "The client_assertion JWT signature algorithm is invalid."  # client_assertion_invalid_signature_algorithm
JWKS_NOT_CONFIGURED = (  # client_assertion_jwks_not_configured
    "The client does not have a JWKSet configured, but the client_assertion requires one."
)


def authenticate_client_assertion(state, server_id: str, params: dict, endpoint_url: str, request=None) -> App:
    """The app a ``client_assertion`` in ``params`` proves to be, or Okta's error (an oauthlib error).

    ``params``: the request's form fields (``client_assertion``, ``client_assertion_type``,
    optional ``client_id``); ``endpoint_url``: the endpoint invoked, as the server names it
    (``state.endpoint(server_id, "token")``), which the assertion's ``aud`` must be. A valid
    assertion's ``jti`` is spent: the same assertion is refused until it expires. ``server_id`` is
    the authorization server answering (the keys are the app's, whichever server it is).
    """
    del server_id  # an app's keys are the same at every authorization server
    if params.get("client_assertion_type") != JWT_BEARER:
        raise errors.OktaError("invalid_request", TYPE_INVALID, 400, request)
    assertion = params.get("client_assertion") or ""
    header, claims = _parse(assertion, request)
    client_id = claims.get("iss")
    named = params.get("client_id")
    app = state.app(client_id) if isinstance(client_id, str) and client_id else None
    if app is None or (named and named != client_id):
        raise errors.invalid_client(INVALID_ISSUER, request)
    if not app.uses_private_key:  # inferred: client_secret_jwt is not emulated
        raise errors.invalid_client(request=request)
    if claims.get("sub") != client_id:
        raise errors.invalid_client(INVALID_SUBJECT, request)
    if not app.jwks:
        raise errors.invalid_client(JWKS_NOT_CONFIGURED, request)
    _verify_signature(assertion, header, app.jwks, request)
    _check_audience(claims.get("aud"), endpoint_url, request)
    exp = _check_times(claims, request)
    jti = claims.get("jti")
    if jti is not None:
        if not isinstance(jti, str):
            raise errors.invalid_client(INVALID_JWT, request)
        if not state.store.spend_assertion_jti(app.client_id, jti, exp):
            raise errors.invalid_client(ALREADY_USED, request)
    return app


def _parse(assertion: str, request) -> tuple[dict, dict]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise errors.invalid_client(INVALID_JWT, request) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise errors.invalid_client(INVALID_JWT, request)
    return header, claims


def _verify_signature(assertion: str, header: dict, jwks: list[dict], request) -> None:
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise errors.invalid_client(INVALID_ALGORITHM, request)
    kty = _KEY_TYPE[algorithm[:2]]
    kid = header.get("kid")
    if kid is not None:
        candidates = [key for key in jwks if key.get("kid") == kid]
        if not candidates:
            raise errors.invalid_client(INVALID_KID, request)
        if candidates[0].get("kty") != kty or candidates[0].get("alg", algorithm) != algorithm:
            raise errors.invalid_client(INVALID_ALGORITHM, request)
    else:  # inferred: no kid, so try each key that can check this algorithm
        candidates = [key for key in jwks if key.get("kty") == kty and key.get("alg", algorithm) == algorithm]
        if not candidates:
            raise errors.invalid_client(INVALID_ALGORITHM, request)
    for jwk in candidates:
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm).key
            # The claims are checked below, each with Okta's own refusal, so PyJWT checks only the signature.
            jwt.decode(assertion, key, algorithms=[algorithm], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                "verify_iss": False, "verify_sub": False, "verify_jti": False})
            return
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise errors.invalid_client(INVALID_JWT, request) from None
    raise errors.invalid_client(INVALID_SIGNATURE, request)


def _check_audience(audience: Any, endpoint_url: str, request) -> None:
    audiences = audience if isinstance(audience, list) else [audience]
    if endpoint_url not in audiences:
        raise errors.invalid_client(INVALID_AUDIENCE, request)


def _check_times(claims: dict, request) -> float:
    """``exp`` (required, in the future, at most an hour ahead) and ``iat`` (if present, not ahead).
    ``exp`` is returned as sent (not rounded down): the ``jti`` is remembered until then."""
    exp, iat, current = _as_time(claims.get("exp")), _as_time(claims.get("iat")), time.time()
    if exp is None or math.isnan(exp):  # JSON NaN compares False with everything
        raise errors.invalid_client(EXPIRATION_REQUIRED, request)
    if exp <= current:
        raise errors.invalid_client(EXPIRED, request)
    if exp - current > MAX_LIFETIME:
        raise errors.invalid_client(TOO_FAR_IN_FUTURE, request)
    if claims.get("iat") is not None and (iat is None or math.isnan(iat) or iat > current):
        raise errors.invalid_client(ISSUED_IN_FUTURE, request)
    return exp


def _as_time(value: Any) -> float | None:
    """A JSON number as a float (an integer too large for one: infinity); ``None`` for anything else."""
    if not _is_number(value):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Members of a JWK that only a private (or symmetric) key has.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def public_jwk_problem(jwk: Any, registered: list[dict]) -> str | None:
    """Why ``jwk`` cannot be added to an app's public keys (``None``: it can).

    What the console's *Add a public key* accepts (service-app guide): a public RSA or EC key
    "with a ``kid`` as all keys in the JWKS must have a unique ID", up to 50 keys per app. A private
    key is refused: the private half stays with the client, and Okta needs only the public one.
    """
    if not isinstance(jwk, dict):
        return "A public key is a JSON object (a JWK), e.g. {\"kty\": \"RSA\", \"kid\": ..., \"n\": ..., \"e\": ...}."
    if any(name in jwk for name in _PRIVATE_MEMBERS):
        return ("This JWK holds a private key. Register only the public key (kty, kid, n and e for RSA); "
                "keep the private key with the client, out of the console and out of any repository.")
    if jwk.get("kty") not in ("RSA", "EC"):
        return "Okta accepts RSA or EC public keys (kty \"RSA\" or \"EC\")."
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        return "Give the key a kid: all keys in the app's JWKS must have a unique ID."
    if any(key.get("kid") == jwk["kid"] for key in registered):
        return f"The app already has a key with kid {jwk['kid']!r}: all keys must have a unique ID."
    if len(registered) >= 50:
        return "An app holds at most 50 public keys."
    if jwk.get("use", "sig") != "sig":
        return "A client-assertion key is a signing key (\"use\": \"sig\")."
    try:
        (RSAAlgorithm if jwk["kty"] == "RSA" else ECAlgorithm).from_jwk(json.dumps(jwk))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return "This is not a valid public key (check n and e for RSA, crv, x and y for EC)."
    return None


def register_public_key(state, label: str, public_jwk: dict) -> str:
    """Add ``public_jwk`` to the *Public keys* of the app labelled ``label``; its ``kid``.

    What an admin does under the app's *Client Credentials: Public key / Private key > Add key*.
    Raises ``ValueError`` with the reason when the app does not use private keys or the key is
    refused (:func:`public_jwk_problem`). The key is kept in the configured tenant and in the one
    enforced now, so it survives a scenario switch.
    """
    app = state.configured.app(label=label)
    if app is None:
        labels = ", ".join(a.label for a in state.configured.apps if a.uses_private_key)
        raise ValueError(f"No app labelled {label!r}. Apps with Public key / Private key authentication: {labels}.")
    if not app.uses_private_key:
        raise ValueError(f"The app {label!r} authenticates with a client secret, not a private key: "
                         "set its Client authentication to Public key / Private key first.")
    problem = public_jwk_problem(public_jwk, app.jwks)
    if problem:
        raise ValueError(problem)
    key = {name: public_jwk[name] for name in ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y") if name in public_jwk}
    with state.lock:
        app.jwks.append(dict(key))
        enforced = state.tenant.app(label=label)
        if enforced is not None and enforced is not app:
            enforced.jwks.append(dict(key))
    return key["kid"]


class PublicKeys:
    """``LocalOkta``'s admin action for private-key apps (a mixin over its ``_state``)."""

    def register_public_key(self, label: str, public_jwk: dict) -> str:
        """Add a public JWK to a private-key app, as under its *Public keys > Add key*; its ``kid``.
        A private JWK, a missing or repeated ``kid``, or an app with a secret: ``ValueError`` saying why."""
        return register_public_key(self._state, label, public_jwk)
