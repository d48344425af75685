"""The user signs in to the AI agent at the org authorization server: the ID token step 1 exchanges.

Okta "accepts only ID token subject tokens minted for the current requesting client, which is the AI
agent" (``guides/ai-agent-token-exchange/main/authserver/token-exchange-flow.md``), so the user signs in
to the agent itself (its linked OIDC app, Directory > AI Agents > the agent > User access) with the
Authorization Code flow and PKCE, and the agent redeems the code with its client assertion::

    pending = start_sign_in(agent)              # state, nonce, PKCE; pending.url is the sign-in page
    # ... the user signs in; the browser comes back to agent.redirect_uri?code=...&state=...
    tokens = finish_sign_in(agent, pending, redirect_url)   # the ID token, checked
    tokens = sign_in_with_password(agent, login, password)  # the local server's page, driven for you

The ID token is checked before it is used (signature against the org's JWKS, ``iss``, ``aud`` = the
agent, ``nonce``, expiry) with PyJWT. Failures raise :class:`AgentSignInError`; no code, token or
verifier is in its message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import requests

from .agent import Agent

__all__ = ["AgentSignInError", "PendingAgentSignIn", "finish_sign_in", "sign_in_with_password", "start_sign_in"]


class AgentSignInError(Exception):
    """The user's sign-in to the agent failed; the message says why."""


@dataclass(frozen=True)
class PendingAgentSignIn:
    """One sign-in under way: the page to open and what the redirect must match."""

    url: str
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    verifier: str = field(repr=False)


@dataclass(frozen=True)
class UserTokens:
    """What the sign-in returned: the ID token (step 1's subject token) and its checked claims."""

    id_token: str = field(repr=False)
    claims: dict = field(repr=False)


def start_sign_in(agent: Agent, scope: str = "openid profile email") -> PendingAgentSignIn:
    """A sign-in to the agent at the org authorization server (Authorization Code + PKCE S256)."""
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": agent.client_id, "response_type": "code", "scope": scope,
                       "redirect_uri": agent.redirect_uri, "state": state, "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    return PendingAgentSignIn(f"{agent.org_url.rstrip('/')}/oauth2/v1/authorize?{query}", state, nonce, verifier)


def finish_sign_in(agent: Agent, pending: PendingAgentSignIn, redirect_url: str, *, timeout: float = 10.0) -> UserTokens:
    """Redeem the code the redirect carries (after checking its ``state``); the checked ID token."""
    params = dict(parse_qsl(urlsplit(redirect_url).query))
    if not hmac.compare_digest(params.get("state", ""), pending.state):
        raise AgentSignInError("The redirect's state is not this sign-in's: ignore it and sign in again.")
    if "error" in params:
        raise AgentSignInError(f"Okta refused the sign-in: {params['error']}: {params.get('error_description', '')}")
    endpoint = agent.org_token_endpoint
    form = {"grant_type": "authorization_code", "code": params.get("code", ""), "redirect_uri": agent.redirect_uri,
            "code_verifier": pending.verifier, **agent.client_assertion(endpoint)}
    response = requests.post(endpoint, data=form, timeout=timeout, allow_redirects=False)
    body = _json(response)
    if response.status_code != 200 or not isinstance(body.get("id_token"), str):
        raise AgentSignInError(f"Redeeming the code was refused: HTTP {response.status_code} "
                               f"{body.get('error', '')}: {body.get('error_description', '')} (ask for the openid scope)")
    claims = _checked_id_token(agent, body["id_token"], pending.nonce, timeout)
    return UserTokens(body["id_token"], claims)


def sign_in_with_password(agent: Agent, username: str, password: str, *, scope: str = "openid profile email") -> UserTokens:
    """Sign ``username`` in to the agent on the local server's sign-in page (tests and notebooks)."""
    from ..local_okta.signin import SignInError, sign_in

    pending = start_sign_in(agent, scope)
    try:
        redirect_url = sign_in(pending.url, username, password)
    except SignInError as exc:
        raise AgentSignInError(f"Signing in on the sign-in page failed: {exc}") from None
    return finish_sign_in(agent, pending, redirect_url)


def _checked_id_token(agent: Agent, id_token: str, nonce: str, timeout: float) -> dict:
    org = agent.org_url.rstrip("/")
    try:
        kid = jwt.get_unverified_header(id_token).get("kid")
        keys = requests.get(f"{org}/oauth2/v1/keys", timeout=timeout).json()["keys"]
        jwk = next(key for key in keys if key.get("kid") == kid)
        claims = jwt.decode(id_token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=agent.client_id,
                            issuer=org, options={"require": ["exp", "iat", "sub", "nonce"]})
    except (jwt.PyJWTError, StopIteration, KeyError, ValueError, requests.RequestException) as exc:
        raise AgentSignInError(f"The ID token did not pass its checks ({type(exc).__name__}): sign in again.") from None
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise AgentSignInError("The ID token's nonce is not this sign-in's: sign in again.")
    return claims


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
