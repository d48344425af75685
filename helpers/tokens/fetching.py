"""Ways two and three of getting a client-credentials token, and what all three ways share.

All three ways (cURL is in ``curl.py``) send the same HTTP request to the token endpoint and
return the same :class:`~helpers.tokens.responses.TokenResponse`:

2. :func:`fetch_token_with_requests`: ``requests`` with an ``Authorization: Basic`` header
   built by hand, so you can see exactly what goes on the wire.
3. :func:`fetch_token_with_requests_oauthlib`: ``requests-oauthlib``'s ``OAuth2Session`` with
   oauthlib's ``BackendApplicationClient`` (the client-credentials grant), which builds the
   request for you.

The request (RFC 6749, section 4.4)::

    POST {issuer}/v1/token
    Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))
    Content-Type: application/x-www-form-urlencoded

    grant_type=client_credentials&scope=calculator.add calculator.subtract

Every way refuses a token URL that is not ``https://`` before sending anything
(:func:`~helpers.tokens.responses.require_secure_token_url`); Okta's token endpoints and the
local authorization server's are all HTTPS. An error answer raises
:class:`TokenRequestError`; a token endpoint that cannot be reached raises
:class:`TokenEndpointUnreachable`. Neither message ever contains the secret. A 429 whose
``X-Rate-Limit-Reset`` is at most ``max_wait`` seconds away (default 10) is waited out and the
request made once more; otherwise :class:`~helpers.tokens.responses.TokenRateLimitedError`
says "rate limited by Okta, retry after N s" (:mod:`helpers.rate_limits`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote

import requests

from helpers.rate_limits import retry_once_after_reset
from helpers.settings import ClientCredentials

from .responses import (
    DEFAULT_TIMEOUT,
    TokenEndpointUnreachable,
    TokenError,
    TokenRequestError,
    TokenResponse,
    require_secure_token_url,
)

__all__ = [
    "basic_credentials",
    "client_credentials_form",
    "fetch_token_with_requests",
    "fetch_token_with_requests_oauthlib",
    "require_secret",
]


def scope_text(scopes: str | Iterable[str]) -> str:
    """Scopes as the space-separated string OAuth sends."""
    return scopes if isinstance(scopes, str) else " ".join(scopes)


def client_credentials_form(scopes: str | Iterable[str]) -> dict[str, str]:
    """The form of a client-credentials token request (no ``scope`` field when there are none)."""
    form = {"grant_type": "client_credentials"}
    scope = scope_text(scopes)
    if scope:
        form["scope"] = scope
    return form


def basic_credentials(client_id: str, client_secret: str) -> tuple[str, str]:
    """The user name and password for HTTP Basic client authentication (RFC 6749, section 2.3.1).

    Both are form-urlencoded *before* they are joined with ``:`` and Base64-encoded, so a
    secret holding ``:``, ``%``, ``+`` or a space survives. Okta's ids and secrets use only
    letters, digits, ``-`` and ``_``, which encoding leaves unchanged; other servers' may not.
    A space becomes ``%20``, which every form decoder reads back (``+`` is read by some only).
    """
    return quote(client_id, safe=""), quote(client_secret, safe="")


def require_secret(client: ClientCredentials) -> str:
    """The client's secret, or a :class:`TokenError`: the client-credentials grant needs one."""
    if not client.client_secret:
        raise TokenError(
            f"The client {client.client_id} has no client secret; the client-credentials grant needs one."
        )
    return client.client_secret


# -- 2. requests with an HTTP Basic header ----------------------------------------------------


def fetch_token_with_requests(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT,
    max_wait: float | None = None,
) -> TokenResponse:
    """POST the client-credentials form with ``Authorization: Basic base64(id:secret)``."""
    return retry_once_after_reset(lambda: _post_with_basic(token_url, client, scopes, timeout), max_wait=max_wait)


def _post_with_basic(token_url: str, client: ClientCredentials, scopes: str | Iterable[str], timeout: float) -> TokenResponse:
    require_secure_token_url(token_url)
    secret = require_secret(client)
    user_name, password = basic_credentials(client.client_id, secret)  # urlencoded (RFC 6749 2.3.1)
    basic = base64.b64encode(f"{user_name}:{password}".encode()).decode()
    try:
        response = requests.post(
            token_url,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data=client_credentials_form(scopes),  # sent as application/x-www-form-urlencoded
            timeout=timeout,
            allow_redirects=False,  # a redirect would carry the Basic header to wherever it points
        )
    except requests.RequestException as exc:
        raise TokenEndpointUnreachable(token_url, describe(exc)) from None
    return read_response(response, token_url)


def read_response(response: requests.Response, token_url: str) -> TokenResponse:
    """A token endpoint's answer: the token, or :class:`TokenRequestError` with Okta's error."""
    if response.status_code != 200:
        raise TokenRequestError.from_body(response.status_code, response.text, token_url, response.headers)
    try:
        payload = response.json()
    except ValueError:
        raise TokenRequestError.from_body(response.status_code, response.text, token_url, response.headers) from None
    return TokenResponse.from_json(payload, token_url)


def describe(exc: requests.RequestException) -> str:
    """Why a request got no answer, in a few words."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed: nothing answers at that address"
    return type(exc).__name__


# -- 3. requests-oauthlib's BackendApplicationClient -------------------------------------------

def fetch_token_with_requests_oauthlib(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT,
    max_wait: float | None = None,
) -> TokenResponse:
    """Let ``OAuth2Session`` + ``BackendApplicationClient`` build and send the token request."""
    return retry_once_after_reset(lambda: _fetch_with_session(token_url, client, scopes, timeout), max_wait=max_wait)


def _fetch_with_session(token_url: str, client: ClientCredentials, scopes: str | Iterable[str], timeout: float) -> TokenResponse:
    from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
    from requests_oauthlib import OAuth2Session

    require_secure_token_url(token_url)
    secret = require_secret(client)
    scope_list = scope_text(scopes).split() or None
    oauth_client = BackendApplicationClient(client_id=client.client_id, scope=scope_list)
    session = OAuth2Session(client=oauth_client, scope=scope_list)
    session.max_redirects = 0  # a redirect would re-send the credentials to wherever it points
    received: dict[str, TokenResponse] = {}

    def read_answer(response: requests.Response) -> requests.Response:
        # A compliance hook sees the HTTP response before oauthlib parses it: keep Okta's
        # status and error here instead of oauthlib's generic exception classes.
        received["token"] = read_response(response, token_url)
        return response

    session.register_compliance_hook("access_token_response", read_answer)
    try:
        # HTTP Basic (client_secret_basic) with the urlencoded id and secret (RFC 6749 2.3.1);
        # without auth=, requests-oauthlib would send them unencoded.
        basic = requests.auth.HTTPBasicAuth(*basic_credentials(client.client_id, secret))
        session.fetch_token(token_url=token_url, auth=basic, timeout=timeout)
    except requests.TooManyRedirects:
        raise TokenEndpointUnreachable(token_url, "it answered with a redirect, which is not followed") from None
    except requests.RequestException as exc:
        raise TokenEndpointUnreachable(token_url, describe(exc)) from None
    except OAuth2Error as exc:  # a 200 answer oauthlib still refuses
        raise TokenRequestError(200, exc.error, exc.description, token_url) from None
    finally:
        session.close()
    return received["token"]
