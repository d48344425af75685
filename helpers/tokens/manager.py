"""A token manager: one cached access token, renewed before it expires, shared by every caller.

A service that calls an MCP server many times should not ask Okta for a token per call
(Okta rate-limits the token endpoint, and each request costs a round trip). The manager

- caches the token and renews it ``renew_before`` seconds before it expires (at most half
  its lifetime before, so a short-lived token is still used);
- lets many threads and many async tasks ask at once while making **one** token request:
  the first caller fetches under a lock, the others wait and reuse its token;
- survives a token-endpoint outage: one request per attempt, its failure shared with every
  caller that waited for it, then a pause (1 s, doubling to 30 s) before the next attempt;
  meanwhile the cached token is served for as long as it is still valid, so a failed renewal
  fails nobody until the token has really expired (a 429: :mod:`helpers.rate_limits`);
- plugs into ``fastmcp.Client(url, auth=manager)`` (and any ``httpx2`` client): it sets
  ``Authorization: Bearer ...`` on requests to the MCP servers it was made for (``mcp_servers=``,
  :mod:`helpers.bound_servers`) and no other; on a 401 it renews once and retries once (one such
  renewal every 10 s at most); on a 403 ``insufficient_scope`` it **steps up** to the union of its
  scopes and the named ones, within ``allowed_scopes``, three times a minute at most
  (:mod:`helpers.pacing`). A second 401 raises :class:`TokenRejectedError`; a refused step-up
  :class:`StepUpRefusedError`.

It does not speak OAuth itself: fetching goes through one of the functions in
:mod:`helpers.tokens.fetching` (``requests-oauthlib`` by default).

    >>> manager = TokenManager.for_client_credentials(
    ...     token_url, client, ["calculator.add"], mcp_servers=server.mcp_url)
    >>> async with Client(server.mcp_url, auth=manager) as mcp:
    ...     await mcp.call_tool("add", {"a": 1, "b": 2})
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx2

from helpers.backoff import SharedBackoff
from helpers.bearer_auth import RenewingBearerAuth
from helpers.bound_servers import BoundServers
from helpers.display import mask_token
from helpers.pacing import RENEWALS_AFTER_401, STEP_UPS, Pace
from helpers.rate_limits import retry_once_after_reset
from helpers.settings import ClientCredentials

from .curl import fetch_token_with_curl
from .fetching import fetch_token_with_requests, fetch_token_with_requests_oauthlib
from .refusals import StepUpRefusedError, TokenRejectedError
from .responses import DEFAULT_TIMEOUT, TokenError, TokenRequestError, TokenResponse

if TYPE_CHECKING:
    from .private_key import PrivateKeyClient

__all__ = ["FETCHERS", "StepUpRefusedError", "TokenManager", "TokenRejectedError"]

#: The three ways, by name, for :meth:`TokenManager.for_client_credentials`.
FETCHERS: dict[str, Callable[..., TokenResponse]] = {
    "curl": fetch_token_with_curl,
    "requests": fetch_token_with_requests,
    "requests_oauthlib": fetch_token_with_requests_oauthlib,
}


@dataclass(frozen=True)
class _Cached:
    token: TokenResponse
    granted: frozenset[str]
    renew_at: float  # on the manager's clock
    expires_at: float


class TokenManager(RenewingBearerAuth):
    """Caches a client-credentials access token and renews it before it expires.

    ``fetch(scopes)`` gets a new token for ``scopes`` (a call to one of the three fetch
    functions); ``clock`` is a monotonic clock in seconds (replace it in tests).
    ``mcp_servers``: the MCP server URL(s) its token may go to. ``allowed_scopes``: all step-up may
    ask for (default ``scopes``: no widening); ``step_up=False``: a 403 is returned as it is.
    """

    def __init__(
        self,
        fetch: Callable[[tuple[str, ...]], TokenResponse],
        scopes: Iterable[str] = (),
        *,
        mcp_servers: str | Iterable[str],
        allowed_scopes: str | Iterable[str] | None = None,
        renew_before: float = 60.0,
        step_up: bool = True,
        clock: Callable[[], float] = time.monotonic,
        first_retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        if renew_before < 0:
            raise ValueError("renew_before is a number of seconds >= 0.")
        self.bound_servers = BoundServers(mcp_servers)  # read by RenewingBearerAuth
        self._fetch = fetch
        self._scopes = _scope_tuple(scopes)
        self._allowed = self._scopes if allowed_scopes is None else _scope_tuple(allowed_scopes)
        if not set(self._scopes) <= set(self._allowed):
            raise ValueError(f"allowed_scopes must include the scopes asked for first ({' '.join(self._scopes)}).")
        self.renew_before = renew_before
        self.step_up_enabled = step_up  # read by RenewingBearerAuth
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._fetches = 0
        self._retry_delays = (first_retry_delay, max_retry_delay)
        self._backoff = self._new_backoff()
        self._step_up_gates: dict[frozenset[str], SharedBackoff] = {}  # by the scopes (within allowed) it needs
        self._step_ups = Pace(*STEP_UPS, clock=clock)
        self._renewals_after_401 = Pace(*RENEWALS_AFTER_401, clock=clock)

    def _new_backoff(self) -> SharedBackoff:
        first, longest = self._retry_delays
        return SharedBackoff(first_delay=first, max_delay=longest, clock=self._clock)

    @classmethod
    def for_client_credentials(
        cls,
        token_url: str,
        client: ClientCredentials | PrivateKeyClient,
        scopes: str | Iterable[str],
        *,
        mcp_servers: str | Iterable[str],
        allowed_scopes: str | Iterable[str] | None = None,
        way: str = "requests_oauthlib",
        timeout: float = DEFAULT_TIMEOUT,
        renew_before: float = 60.0,
        step_up: bool = True,
    ) -> TokenManager:
        """A manager fetching tokens for ``client`` with ``scopes`` one of the three ways
        (``"requests_oauthlib"``, ``"requests"`` or ``"curl"``), for the MCP server(s) ``mcp_servers``.
        A :class:`~helpers.tokens.private_key.PrivateKeyClient` (``private_key_jwt``) is fetched for
        with a new client assertion per request, signed for ``token_url`` (``way`` is not used)."""
        from .private_key import PrivateKeyClient, fetch_token_with_private_key  # not at import: `-m` runs it

        if way not in FETCHERS:
            raise ValueError(f"way={way!r}: choose one of {', '.join(sorted(FETCHERS))}.")
        fetch_function = fetch_token_with_private_key if isinstance(client, PrivateKeyClient) else FETCHERS[way]

        def fetch(wanted: tuple[str, ...]) -> TokenResponse:  # a 429 is the manager's to wait out
            return fetch_function(token_url, client, wanted, timeout=timeout, max_wait=0.0)

        return cls(fetch, scopes, mcp_servers=mcp_servers, allowed_scopes=allowed_scopes,
                   renew_before=renew_before, step_up=step_up)

    # -- getting the token ---------------------------------------------------------------

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes this manager asks for (grown by step-up, within :attr:`allowed_scopes`)."""
        return self._scopes

    @property
    def allowed_scopes(self) -> tuple[str, ...]:
        """All the scopes this manager may ever ask for."""
        return self._allowed

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

    def granted_scopes(self) -> frozenset[str]:
        """The scopes of the cached token (empty when nothing is cached)."""
        cached = self._cached
        return cached.granted if cached else frozenset()

    def step_up(self, needed: Iterable[str]) -> str:
        """A token that also carries ``needed``: fetched with the union of this manager's scopes
        and ``needed`` (unless another caller already did). Raises :class:`StepUpRefusedError`
        when the authorization server will not grant them to this client. Like renewal, one
        attempt at a time: its failure is shared by the callers that waited, then a pause. Only
        within :attr:`allowed_scopes`, three step-up requests a minute at most."""
        needed = _scope_tuple(needed)
        outside = [scope for scope in needed if scope not in self._allowed]
        if outside:
            raise StepUpRefusedError.not_allowed(needed, outside, self._allowed)
        gate = self._step_up_gates.setdefault(frozenset(needed), self._new_backoff())
        ticket = gate.ticket()
        with self._lock:
            cached = self._cached
            if cached is not None and set(needed) <= cached.granted and self._clock() < cached.expires_at:
                return cached.token.access_token
            shared = gate.failure_to_share(ticket)
            if shared is not None:
                raise shared
            if not self._step_ups.take():
                raise StepUpRefusedError.paced(needed, self._step_ups.limit, self._step_ups.period, self._step_ups.wait)
            wanted = tuple(dict.fromkeys((*self._scopes, *needed)))
            try:
                cached = retry_once_after_reset(lambda: self._fetch_now(wanted))
                if not set(needed) <= cached.granted:
                    granted = " ".join(sorted(cached.granted)) or "nothing"
                    raise StepUpRefusedError(needed, wanted, f"was granted only {granted}")
            except TokenRequestError as exc:
                refusal = str(exc) if exc.status == 429 else f"HTTP {exc.status} {exc.error}" + (f": {exc.error_description}" if exc.error_description else "")
                error = StepUpRefusedError(needed, wanted, f"the authorization server refused it ({refusal})")
                gate.failed(error)
                raise error from None
            except TokenError as exc:
                gate.failed(exc)
                raise
            gate.succeeded()
            self._scopes = wanted
            return cached.token.access_token

    async def astep_up(self, needed: Iterable[str]) -> str:
        """:meth:`step_up` for async code."""
        return await anyio.to_thread.run_sync(self.step_up, tuple(needed))

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
        return cached.token.access_token if (cached := self._cached) else None

    def _fresh(self, rejected: str | None) -> _Cached | None:
        if (cached := self._cached) is None or self._clock() >= cached.renew_at or cached.token.access_token == rejected:
            return None
        return cached

    def _token(self, rejected: str | None, after_401: bool = False) -> str | None:
        cached = self._fresh(rejected)
        if cached is not None:
            return cached.token.access_token
        ticket = self._backoff.ticket()  # before waiting: an attempt that fails meanwhile is ours too
        with self._lock:  # one fetch at a time; waiting callers then find its token, or its failure
            cached = self._fresh(rejected)
            if cached is not None:
                return cached.token.access_token
            if after_401 and not self._renewals_after_401.take():
                return None  # after a 401, renewed moments ago: this 401 stands (helpers.pacing)
            shared = self._backoff.failure_to_share(ticket)
            if shared is not None:
                return self._still_valid_or_raise(shared, rejected)
            held = self._cached  # after a 429: a valid token is served at once, else a near reset waited for
            try:
                cached = retry_once_after_reset(lambda: self._fetch_now(self._scopes), max_wait=0.0 if held and held.token.access_token != rejected and self._clock() < held.expires_at else None)
            except TokenError as exc:
                self._backoff.failed(exc)
                return self._still_valid_or_raise(exc, rejected)
            self._backoff.succeeded()
            return cached.token.access_token

    def _still_valid_or_raise(self, error: BaseException, rejected: str | None) -> str:
        """The cached token if it has not expired (and was not rejected), else ``error``."""
        if (cached := self._cached) is not None and cached.token.access_token != rejected and self._clock() < cached.expires_at:
            return cached.token.access_token
        raise error

    def _fetch_now(self, scopes: tuple[str, ...]) -> _Cached:
        started = self._clock()  # count the lifetime from before the request: never too late
        token = self._fetch(scopes)
        self._fetches += 1
        if token.expires_in is None:  # no lifetime given: use it until the server rejects it
            renew_at = expires_at = float("inf")
        else:
            expires_at = started + token.expires_in
            renew_at = expires_at - min(self.renew_before, token.expires_in / 2)
        granted = frozenset(token.scopes) if token.scope else frozenset(scopes)
        self._cached = _Cached(token, granted, renew_at, expires_at)
        return self._cached

    # -- RenewingBearerAuth: used by fastmcp.Client(auth=manager) ------------------------

    def current_token(self) -> str:
        return self.get_token()

    async def acurrent_token(self) -> str:
        return await self.aget_token()

    def renewed_token(self, rejected: str) -> str | None:
        return self._token(rejected=rejected, after_401=True)

    def stepped_up_token(self, needed: tuple[str, ...]) -> str:
        return self.step_up(needed)

    def rejected_again(self, request: httpx2.Request, response: httpx2.Response, *, renewed: bool = True) -> None:
        raise TokenRejectedError(str(request.url), response.headers.get("WWW-Authenticate"), renewed=renewed)

    def __repr__(self) -> str:
        return f"<TokenManager token={mask_token(self._current_access_token())} token_requests={self._fetches}>"


def _scope_tuple(scopes: str | Iterable[str]) -> tuple[str, ...]:
    return tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
