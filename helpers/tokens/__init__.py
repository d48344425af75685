"""Access tokens for services: three ways to fetch one, and a manager that caches and renews it.

- :mod:`helpers.tokens.curl`: way one, the ``curl`` command (the secret never on a command line);
- :mod:`helpers.tokens.fetching`: way two, ``requests`` with HTTP Basic, and way three,
  ``requests-oauthlib``;
- :mod:`helpers.tokens.responses`: the :class:`TokenResponse` all three return, and the errors
  they raise (:class:`TokenRequestError`: Okta's error; :class:`TokenEndpointUnreachable`);
- :mod:`helpers.tokens.manager`: :class:`TokenManager`, the auth to give ``fastmcp.Client``
  (for the MCP servers it was created for: :class:`UnboundServerError` elsewhere).
"""

from helpers.bound_servers import UnboundServerError

from .curl import CurlCommand, curl_available, curl_command, fetch_token_with_curl
from .fetching import basic_credentials, fetch_token_with_requests, fetch_token_with_requests_oauthlib
from .manager import FETCHERS, StepUpRefusedError, TokenManager, TokenRejectedError
from .responses import (
    TokenEndpointUnreachable,
    TokenError,
    TokenRateLimitedError,
    TokenRequestError,
    TokenResponse,
    require_secure_token_url,
)

__all__ = [
    "FETCHERS",
    "CurlCommand",
    "StepUpRefusedError",
    "TokenEndpointUnreachable",
    "TokenError",
    "TokenManager",
    "TokenRateLimitedError",
    "TokenRejectedError",
    "TokenRequestError",
    "TokenResponse",
    "UnboundServerError",
    "basic_credentials",
    "curl_available",
    "curl_command",
    "fetch_token_with_curl",
    "fetch_token_with_requests",
    "fetch_token_with_requests_oauthlib",
    "require_secure_token_url",
]
