"""What a token endpoint answers, and the errors every way of asking for a token raises.

- :class:`TokenResponse`: a successful answer (its ``repr`` masks the token);
- :class:`TokenRequestError`: Okta answered with an error (status, ``error``, ``error_description``
  and a hint of what to fix);
- :class:`TokenRateLimitedError`: Okta answered 429 ("rate limited by Okta, retry after N s",
  with ``retry_after`` from ``X-Rate-Limit-Reset``: see :mod:`helpers.rate_limits`);
- :class:`TokenEndpointUnreachable`: no answer at all (refused, unresolvable, timed out, TLS);
- :func:`require_secure_token_url`: client secrets go to ``https://`` token endpoints only.

Neither error message ever contains the secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpers.display import mask_token
from helpers.rate_limits import RateLimited, rate_limit_message, seconds_until_reset
from helpers.urls import is_https

__all__ = [
    "DEFAULT_TIMEOUT",
    "TokenEndpointUnreachable",
    "TokenError",
    "TokenRateLimitedError",
    "TokenRequestError",
    "TokenResponse",
    "require_secure_token_url",
]

DEFAULT_TIMEOUT = 10.0

#: What to check for each error the token endpoint can answer (Okta's error codes).
ERROR_HINTS = {
    "invalid_client": "check the client id and secret (the app's General tab in Okta, or M2M_CLIENT_ID "
    "and M2M_CLIENT_SECRET in .env)",
    "invalid_scope": "check the scope's spelling, and that the authorization server defines it "
    "(Security > API > Authorization Servers > Scopes)",
    "access_denied": "an access policy rule must grant this app these scopes with the Client "
    "Credentials grant (Security > API > Authorization Servers > Access Policies)",
    "unauthorized_client": "enable the Client Credentials grant on the app (an API Services app has it)",
    "unsupported_grant_type": "the authorization server does not offer this grant",
    "invalid_request": "the request itself is malformed: compare it with the cURL command",
}

#: For a refused client assertion (private_key_jwt): the description names the claim; what to compare.
ASSERTION_HINT = ("the public key registered on the app (its kid) must match the private key; iss and sub the "
                  "client id, aud the token endpoint exactly, exp within the hour, a new jti each time")


class TokenError(RuntimeError):
    """Getting or using an access token failed; the message says what to check."""


class TokenRequestError(TokenError):
    """The token endpoint answered with an error (HTTP status, Okta's ``error`` and ``error_description``)."""

    def __init__(self, status: int, error: str | None, error_description: str | None, token_url: str) -> None:
        self.status = status
        self.error = error
        self.error_description = error_description
        self.token_url = token_url
        what = error or "an answer that is not an OAuth error"
        message = f"The token endpoint answered HTTP {status} {what}"
        if error_description:
            message += f": {error_description}"
        hint = ERROR_HINTS.get(error or "")
        if error_description and "client_assertion" in error_description:  # private_key_jwt: no secret involved
            hint = ASSERTION_HINT
        super().__init__(message + (f" (Fix: {hint}.)" if hint else ""))

    @classmethod
    def from_body(
        cls, status: int, body: str, token_url: str, headers: Mapping[str, str] | None = None
    ) -> TokenRequestError:
        """Read Okta's JSON error body (OAuth's ``error``/``error_description``, or Okta's API
        ``errorCode``/``errorSummary``); anything else becomes a short description. A 429 is a
        :class:`TokenRateLimitedError` timed by the answer's ``headers``."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        error = description = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            error, description = payload["error"], payload.get("error_description")
        elif isinstance(payload, dict) and isinstance(payload.get("errorCode"), str):  # e.g. E0000047
            error, description = payload["errorCode"], payload.get("errorSummary")
        if status == 429:
            return TokenRateLimitedError(status, error, description, token_url, seconds_until_reset(headers or {}))
        if error is not None:
            return cls(status, error, description, token_url)
        if isinstance(payload, (dict, list)):
            return cls(status, None, f"JSON without an OAuth error ({len(body)} characters)", token_url)
        if status == 200:  # a success answer may hold a token in some other format: never quote it
            return cls(status, None, f"an answer that is not JSON ({len(body)} characters)", token_url)
        snippet = " ".join(body.split())[:80]
        return cls(status, None, f"not JSON: {snippet!r}" if snippet else "empty body", token_url)


class TokenRateLimitedError(TokenRequestError, RateLimited):
    """Okta answered 429: "rate limited by Okta, retry after N s" (``retry_after`` seconds)."""

    def __init__(self, status: int, error: str | None, error_description: str | None, token_url: str,
                 retry_after: float) -> None:
        super().__init__(status, error, error_description, token_url)
        self.retry_after, self.url = retry_after, token_url
        said = f" Okta said: {error}: {error_description}" if error else ""
        self.args = (rate_limit_message(retry_after, token_url) + said,)


class TokenEndpointUnreachable(TokenError):
    """No answer from the token endpoint (refused, unresolvable, timed out, TLS failure)."""

    def __init__(self, token_url: str, reason: str) -> None:
        self.token_url = token_url
        self.reason = reason
        super().__init__(
            f"Could not reach the token endpoint {token_url} ({reason}). Check the issuer URL, "
            "that the authorization server is running, and your network."
        )


@dataclass(frozen=True, repr=False)
class TokenResponse:
    """A successful token response. ``repr`` masks the token; ``raw`` is the JSON as received."""

    access_token: str
    token_type: str
    expires_in: int | None
    scope: str
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The granted scopes, sorted."""
        return tuple(sorted(self.scope.split()))

    @classmethod
    def from_json(cls, payload: Any, token_url: str, status: int = 200) -> TokenResponse:
        """Check and read a token response body (a parsed JSON object)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise TokenRequestError(status, None, "a success status without an access_token", token_url)
        expires_in = payload.get("expires_in")
        return cls(
            access_token=payload["access_token"],
            token_type=str(payload.get("token_type", "")),
            expires_in=_seconds(expires_in),
            scope=str(payload.get("scope", "")),
            raw=dict(payload),
        )

    def __repr__(self) -> str:
        return (
            f"TokenResponse(access_token={mask_token(self.access_token)!r}, token_type={self.token_type!r}, "
            f"expires_in={self.expires_in!r}, scope={self.scope!r})"
        )



def _seconds(value: Any) -> int | None:
    """``expires_in`` as whole seconds (Okta sends a number; some servers send a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def require_secure_token_url(token_url: str) -> None:
    """Raise :class:`TokenError` unless ``token_url`` is ``https://``.

    Over plain HTTP, anyone on the network path reads the client secret in the
    ``Authorization`` header and the token in the answer. The check runs before any request
    is built, so nothing is sent.
    """
    if not is_https(token_url):
        raise TokenError(
            f"Refusing to send client credentials to {token_url}: over plain HTTP anyone on the "
            "network can read them. Use the https:// token endpoint of your Okta authorization server."
        )
