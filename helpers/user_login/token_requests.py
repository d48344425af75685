"""The gateway's requests to the token and revocation endpoints, built and read by oauthlib.

Each function sends one request with requests-oauthlib's ``OAuth2Session`` (oauthlib builds the
form and parses the answer) and turns what can go wrong into a :class:`LoginError` that says
what to do. The web app authenticates with HTTP Basic when it has a secret, and sends its
``client_id`` (PKCE alone) when it is a public client. ``resource`` (RFC 8707) is added only
when the gateway is configured to send it (see ``UserLogin(send_resource=...)``).

A 429 (Okta's rate limit) is read before oauthlib sees it: its ``invalid_grant`` body does not
mean the code or refresh token is bad. A reset at most ``max_wait`` seconds away is waited for
and the request sent once more; otherwise :class:`RateLimitedLoginError` (:mod:`helpers.rate_limits`).
"""

from __future__ import annotations

from typing import Any

import requests
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from requests_oauthlib import OAuth2Session

from ..rate_limits import retry_once_after_reset, seconds_until_reset
from ..settings import ClientCredentials
from .errors import AuthorizationCodeError, LoginError, RateLimitedLoginError, RefreshTokenError
from .transport import check_endpoint

__all__ = ["exchange_code", "refresh_tokens", "revoke_refresh_token"]

_HINTS = {
    "invalid_client": "Check CLIENT_ID and CLIENT_SECRET in .env against the web app's General tab.",
    "unauthorized_client": "Allow the grant type on the web app (General Settings > Grant type).",
    "access_denied": "Check the access policy and its rule on the authorization server.",
    "invalid_scope": "Ask only for scopes the authorization server defines.",
    "invalid_target": "This authorization server rejects the RFC 8707 'resource' parameter: "
    "create the gateway with send_resource=False (the default for Okta).",
}


def _client_auth(client: ClientCredentials) -> dict[str, Any]:
    """How the web app authenticates at the token endpoint (requests-oauthlib arguments)."""
    if client.client_secret:
        return {"auth": requests.auth.HTTPBasicAuth(client.client_id, client.client_secret)}
    return {"include_client_id": True}


def _resource(resource: str | None) -> dict[str, str]:
    return {"resource": resource} if resource else {}


def _refused(doing: str, exc: oauth_errors.OAuth2Error) -> str:
    hint = _HINTS.get(exc.error, "")
    description = (exc.description or "").rstrip(".")  # Okta's descriptions end with a period
    return f"The token endpoint refused {doing}: {exc.error}: {description}. {hint}".rstrip()


def _watch_for_429(session: OAuth2Session, token_endpoint: str, doing: str) -> None:
    """Raise :class:`RateLimitedLoginError` for a 429 before oauthlib reads it as a refusal."""

    def check(response: requests.Response) -> requests.Response:
        if response.status_code == 429:
            raise RateLimitedLoginError(seconds_until_reset(response.headers), token_endpoint, doing)
        return response

    session.register_compliance_hook("access_token_response", check)
    session.register_compliance_hook("refresh_token_response", check)


def _unreachable(token_endpoint: str, doing: str, exc: Exception) -> LoginError:
    return LoginError(
        f"Could not {doing} at the token endpoint {token_endpoint} ({type(exc).__name__}: no usable "
        "answer). Check the network and that the authorization server is up, then try again."
    )


def exchange_code(
    *,
    token_endpoint: str,
    oauth_client: WebApplicationClient,
    client: ClientCredentials,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    resource: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Exchange an authorization code (with its PKCE verifier) for tokens."""
    check_endpoint(token_endpoint, "token endpoint")
    return retry_once_after_reset(lambda: _exchange_once(
        token_endpoint, oauth_client, client, redirect_uri, code, code_verifier, resource, timeout))


def _exchange_once(token_endpoint: str, oauth_client: WebApplicationClient, client: ClientCredentials,
                   redirect_uri: str, code: str, code_verifier: str, resource: str | None, timeout: float) -> dict[str, Any]:
    session = OAuth2Session(client=oauth_client, redirect_uri=redirect_uri)
    session.max_redirects = 0  # a redirect would carry the code and verifier to wherever it points
    _watch_for_429(session, token_endpoint, "the code was not used: it can be exchanged after the reset, "
                   "within its five minutes")
    try:
        return session.fetch_token(
            token_endpoint, code=code, code_verifier=code_verifier, timeout=timeout,
            **_client_auth(client), **_resource(resource),
        )
    except oauth_errors.InvalidGrantError as exc:
        raise AuthorizationCodeError(
            f"The token endpoint refused the authorization code (invalid_grant: {exc.description}). "
            "A code is single use and expires after a few minutes, and the PKCE verifier and redirect "
            "URI must match the authorization request. Start a new sign-in with login.begin()."
        ) from None
    except oauth_errors.OAuth2Error as exc:
        raise LoginError(_refused("the authorization code", exc)) from None
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(token_endpoint, "exchange the code", exc) from None
    finally:
        session.close()


def refresh_tokens(
    *, token_endpoint: str, client: ClientCredentials, refresh_token: str, resource: str | None, timeout: float,
    max_wait: float | None = None,
) -> dict[str, Any]:
    """Use a refresh token; :class:`RefreshTokenError` when it is refused (``invalid_grant``)."""
    check_endpoint(token_endpoint, "token endpoint")
    return retry_once_after_reset(lambda: _refresh_once(token_endpoint, client, refresh_token, resource, timeout),
                                  max_wait=max_wait)


def _refresh_once(token_endpoint: str, client: ClientCredentials, refresh_token: str, resource: str | None,
                  timeout: float) -> dict[str, Any]:
    session = OAuth2Session(client=WebApplicationClient(client.client_id))
    session.max_redirects = 0  # a redirect would carry the refresh token to wherever it points
    _watch_for_429(session, token_endpoint, "the user's tokens are kept")
    auth = _client_auth(client)
    extra = {"client_id": client.client_id} if auth.pop("include_client_id", False) else {}
    try:
        return session.refresh_token(
            token_endpoint, refresh_token=refresh_token, timeout=timeout, **auth, **extra, **_resource(resource),
        )
    except oauth_errors.InvalidGrantError as exc:
        raise RefreshTokenError(
            f"The authorization server refused the refresh token (invalid_grant: {exc.description}). "
            "It was revoked, has expired, or was already used (rotation). The stored tokens are "
            "gone: sign the user in again."
        ) from None
    except oauth_errors.OAuth2Error as exc:
        raise LoginError(_refused("refreshing the token", exc)) from None
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(token_endpoint, "refresh the token", exc) from None
    finally:
        session.close()


def revoke_refresh_token(*, revocation_endpoint: str, client: ClientCredentials, refresh_token: str, timeout: float) -> None:
    """Revoke a refresh token (RFC 7009); raises :class:`LoginError` when the endpoint refuses."""
    check_endpoint(revocation_endpoint, "revocation endpoint")
    data = {"token": refresh_token, "token_type_hint": "refresh_token"}
    auth = None
    if client.client_secret:
        auth = (client.client_id, client.client_secret)
    else:
        data["client_id"] = client.client_id
    try:
        response = requests.post(revocation_endpoint, data=data, auth=auth, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise LoginError(
            f"Could not reach the revocation endpoint {revocation_endpoint} ({type(exc).__name__}); the "
            "tokens were forgotten here but may still be valid at the authorization server."
        ) from None
    if response.status_code == 429:
        raise RateLimitedLoginError(seconds_until_reset(response.headers), revocation_endpoint,
                                    "the tokens were forgotten here but are still valid at the authorization server")
    if response.status_code != 200:
        raise LoginError(
            f"The revocation endpoint answered HTTP {response.status_code}; the tokens were "
            "forgotten here but may still be valid at the authorization server."
        )
