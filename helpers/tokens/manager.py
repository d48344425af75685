"""A token manager: one cached access token, renewed before it expires, shared by every caller.

A service that calls an MCP server many times should not ask Okta for a token per call
(Okta rate-limits the token endpoint, and each request costs a round trip). The manager

- caches the token and renews it ``renew_before`` seconds before it expires (at most half
  its lifetime before, so a short-lived token is still used);
- lets many threads and many async tasks ask at once while making **one** token request:
  the first caller fetches under a lock, the others wait and reuse its token;
- plugs into ``fastmcp.Client(url, auth=manager)`` (and any ``httpx2`` client): it sets
  ``Authorization: Bearer ...`` on each request and, when the MCP server answers 401
  anyway (the token was revoked, keys rotated, clocks disagree), renews once and retries
  once; a second 401 raises :class:`TokenRejectedError`.

It does not speak OAuth itself: fetching goes through one of the functions in
:mod:`helpers.tokens.fetching` (``requests-oauthlib`` by default).

    >>> manager = TokenManager.for_client_credentials(token_url, client, ["calculator.add"])
    >>> async with Client(server.mcp_url, auth=manager) as mcp:
    ...     await mcp.call_tool("add", {"a": 1, "b": 2})
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass

import anyio.to_thread
import httpx2

from helpers.display import mask_token
from helpers.settings import ClientCredentials

from .fetching import (
    DEFAULT_TIMEOUT,
    TokenError,
    TokenResponse,
    fetch_token_with_curl,
    fetch_token_with_requests,
    fetch_token_with_requests_oauthlib,
)

__all__ = ["FETCHERS", "TokenManager", "TokenRejectedError"]

#: The three ways, by name, for :meth:`TokenManager.for_client_credentials`.
FETCHERS: dict[str, Callable[..., TokenResponse]] = {
    "curl": fetch_token_with_curl,
    "requests": fetch_token_with_requests,
    "requests_oauthlib": fetch_token_with_requests_oauthlib,
}


class TokenRejectedError(TokenError):
    """The MCP server answered 401 to a freshly renewed token as well."""

    def __init__(self, url: str, www_authenticate: str | None) -> None:
        self.url = url
        self.www_authenticate = www_authenticate
        super().__init__(
            f"The server at {url} rejected a freshly fetched access token too (HTTP 401"
            + (f", WWW-Authenticate: {www_authenticate}" if www_authenticate else "")
            + "). Renewing again will not help: check that the server trusts this issuer and "
            "audience (OAUTH_ISSUER, OAUTH_AUDIENCE) and that both clocks are right."
        )


@dataclass(frozen=True)
class _Cached:
    token: TokenResponse
    renew_at: float  # on the manager's clock


class TokenManager(httpx2.Auth):
    """Caches a client-credentials access token and renews it before it expires.

    ``fetch`` gets a new token (a call to one of the three fetch functions); ``clock``
    is a monotonic clock in seconds (replace it in tests).
    """

    requires_request_body = True  # a retry sends the same body again

    def __init__(
        self,
        fetch: Callable[[], TokenResponse],
        *,
        renew_before: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if renew_before < 0:
            raise ValueError("renew_before is a number of seconds >= 0.")
        self._fetch = fetch
        self.renew_before = renew_before
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._fetches = 0

    @classmethod
    def for_client_credentials(
        cls,
        token_url: str,
        client: ClientCredentials,
        scopes: str | Iterable[str],
        *,
        way: str = "requests_oauthlib",
        timeout: float = DEFAULT_TIMEOUT,
        renew_before: float = 60.0,
    ) -> TokenManager:
        """A manager fetching tokens for ``client`` with ``scopes`` one of the three ways
        (``"requests_oauthlib"``, ``"requests"`` or ``"curl"``)."""
        if way not in FETCHERS:
            raise ValueError(f"way={way!r}: choose one of {', '.join(sorted(FETCHERS))}.")
        fetch_function, scopes = FETCHERS[way], _scope_tuple(scopes)
        return cls(lambda: fetch_function(token_url, client, scopes, timeout=timeout), renew_before=renew_before)

    # -- getting the token ---------------------------------------------------------------

    def get_token(self) -> str:
        """The cached access token, fetching or renewing it first when needed (thread-safe)."""
        return self._token(rejected=None)

    async def aget_token(self) -> str:
        """:meth:`get_token` for async code: the event loop keeps running while a token is fetched."""
        cached = self._fresh(None)
        if cached is not None:
            return cached.token.access_token
        return await anyio.to_thread.run_sync(self._token, None)

    def renew(self, rejected: str | None = None) -> str:
        """Fetch a new token now; with ``rejected``, only if the cached one is still that token
        (so many callers that saw the same token rejected cause one renewal, not many)."""
        return self._token(rejected=rejected or self._current_access_token() or "")

    async def arenew(self, rejected: str | None = None) -> str:
        """:meth:`renew` for async code."""
        return await anyio.to_thread.run_sync(self.renew, rejected)

    @property
    def token_requests(self) -> int:
        """How many tokens this manager has fetched so far."""
        return self._fetches

    @property
    def current(self) -> TokenResponse | None:
        """The cached token response, if any (its ``repr`` is masked)."""
        cached = self._cached
        return cached.token if cached else None

    def seconds_until_renewal(self) -> float | None:
        """How long the cached token is used before it is renewed (``None``: nothing cached)."""
        cached = self._cached
        return None if cached is None else cached.renew_at - self._clock()

    def _current_access_token(self) -> str | None:
        cached = self._cached
        return cached.token.access_token if cached else None

    def _fresh(self, rejected: str | None) -> _Cached | None:
        cached = self._cached
        if cached is None or self._clock() >= cached.renew_at or cached.token.access_token == rejected:
            return None
        return cached

    def _token(self, rejected: str | None) -> str:
        cached = self._fresh(rejected)
        if cached is None:
            with self._lock:  # one fetch at a time; waiting callers then find a fresh token
                cached = self._fresh(rejected)
                if cached is None:
                    cached = self._fetch_now()
        return cached.token.access_token

    def _fetch_now(self) -> _Cached:
        started = self._clock()  # count the lifetime from before the request: never too late
        token = self._fetch()
        self._fetches += 1
        if token.expires_in is None:  # no lifetime given: use it until the server rejects it
            renew_at = float("inf")
        else:
            renew_at = started + token.expires_in - min(self.renew_before, token.expires_in / 2)
        self._cached = _Cached(token, renew_at)
        return self._cached

    # -- httpx2.Auth: used by fastmcp.Client(auth=manager) -------------------------------

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.read()
        token = self.get_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.renew(rejected=token)}"
            response = yield request
            if response.status_code == 401:
                raise TokenRejectedError(str(request.url), response.headers.get("WWW-Authenticate"))

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        token = await self.aget_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self.arenew(rejected=token)}"
            response = yield request
            if response.status_code == 401:
                raise TokenRejectedError(str(request.url), response.headers.get("WWW-Authenticate"))

    def __repr__(self) -> str:
        return f"<TokenManager token={mask_token(self._current_access_token())} token_requests={self._fetches}>"


def _scope_tuple(scopes: str | Iterable[str]) -> tuple[str, ...]:
    return tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
