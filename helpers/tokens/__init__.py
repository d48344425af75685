"""Access tokens for services: three ways to fetch one, and a manager that caches and renews it.

- :mod:`helpers.tokens.fetching`: cURL, ``requests`` with HTTP Basic, ``requests-oauthlib``;
  each returns a :class:`TokenResponse` and raises :class:`TokenRequestError` (Okta's error)
  or :class:`TokenEndpointUnreachable`.
- :mod:`helpers.tokens.manager`: :class:`TokenManager`, the auth to give ``fastmcp.Client``.
"""

from .fetching import (
    CurlCommand,
    TokenEndpointUnreachable,
    TokenError,
    TokenRequestError,
    TokenResponse,
    allow_http_for_loopback,
    basic_credentials,
    curl_available,
    curl_command,
    fetch_token_with_curl,
    fetch_token_with_requests,
    fetch_token_with_requests_oauthlib,
    is_loopback_url,
)
from .manager import FETCHERS, TokenManager, TokenRejectedError

__all__ = [
    "FETCHERS",
    "CurlCommand",
    "TokenEndpointUnreachable",
    "TokenError",
    "TokenManager",
    "TokenRejectedError",
    "TokenRequestError",
    "TokenResponse",
    "allow_http_for_loopback",
    "basic_credentials",
    "curl_available",
    "curl_command",
    "fetch_token_with_curl",
    "fetch_token_with_requests",
    "fetch_token_with_requests_oauthlib",
    "is_loopback_url",
]
