"""What an MCP client does with an access token on every request: the ``httpx2.Auth`` flow.

``fastmcp.Client(url, auth=...)`` calls an ``httpx2.Auth`` for each HTTP request. This one is
shared by the service's token manager (``helpers.tokens``) and the gateway's user sign-in
(``helpers.user_login``); they differ only in where a token comes from:

0. check that the request goes to one of the MCP servers the client was created for
   (:mod:`helpers.bound_servers`); anywhere else no token is attached and
   :class:`~helpers.bound_servers.UnboundServerError` is raised;
1. put ``Authorization: Bearer <token>`` on the request;
2. on ``401`` (revoked token, rotated keys, clocks that disagree): renew the token **once**
   and send the request again; a second ``401`` is the subclass's to report. The subclass may
   decline to renew (it renewed after a 401 moments ago, :mod:`helpers.pacing`): then the
   first ``401`` is the subclass's to report;
3. on ``403`` with ``error="insufficient_scope"`` naming scopes the token does not carry:
   **step-up** (MCP authorization specification, "Step-Up Authorization Flow"): get a token
   with the union of the scopes held and the ones named, and send the request again, once.
   A 403 that names only scopes already granted is returned as it is (asking again would loop).

At most one renewal and one step-up per request, so a broken setup never loops.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import anyio.to_thread
import httpx2

from helpers.bound_servers import BoundServers
from helpers.challenge import bearer_challenge

__all__ = ["RenewingBearerAuth"]


class RenewingBearerAuth(httpx2.Auth):
    """Bearer authentication with one renewal after a 401 and one step-up after a 403.

    A subclass provides :attr:`bound_servers` (where the token may go) and the token:
    :meth:`current_token`, :meth:`renewed_token`, :meth:`granted_scopes` and
    :meth:`stepped_up_token` (blocking and thread-safe; the async flow runs them in a worker
    thread unless the ``a...`` variant is overridden).
    """

    requires_request_body = True  # a request is sent again after a 401 or 403: keep its body
    step_up_enabled = True
    bound_servers: BoundServers

    # -- what a subclass provides --------------------------------------------------------

    def current_token(self) -> str:
        raise NotImplementedError

    def renewed_token(self, rejected: str) -> str | None:
        """A new token, unless the one held is no longer ``rejected`` (then that one);
        ``None``: no renewal now (the 401 goes to :meth:`rejected_again`)."""
        raise NotImplementedError

    def granted_scopes(self) -> frozenset[str]:
        raise NotImplementedError

    def stepped_up_token(self, needed: tuple[str, ...]) -> str:
        """A token that also carries ``needed``, or an error saying why there is none."""
        raise NotImplementedError

    def rejected_again(self, request: httpx2.Request, response: httpx2.Response, *, renewed: bool = True) -> None:
        """Called when a renewed token got 401 too (``renewed=False``: the 401 came with no
        renewal allowed); return to hand the 401 to the caller."""

    async def acurrent_token(self) -> str:
        return await anyio.to_thread.run_sync(self.current_token)

    async def arenewed_token(self, rejected: str) -> str | None:
        return await anyio.to_thread.run_sync(self.renewed_token, rejected)

    async def astepped_up_token(self, needed: tuple[str, ...]) -> str:
        return await anyio.to_thread.run_sync(self.stepped_up_token, needed)

    # -- the flow --------------------------------------------------------------------------

    def scopes_to_step_up(self, response: httpx2.Response) -> tuple[str, ...] | None:
        """The scopes a 403 ``insufficient_scope`` names, if any of them is not granted yet."""
        if response.status_code != 403 or not self.step_up_enabled:
            return None
        challenge = bearer_challenge(response.headers)
        if challenge is None or not challenge.is_insufficient_scope or not challenge.scopes:
            return None
        granted = self.granted_scopes()
        return challenge.scopes if any(scope not in granted for scope in challenge.scopes) else None

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.read()
        self.bound_servers.check(request.url)
        token = self.current_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            renewed = self.renewed_token(token)
            if renewed is None:
                self.rejected_again(request, response, renewed=False)
                return
            request.headers["Authorization"] = f"Bearer {renewed}"
            response = yield request
            if response.status_code == 401:
                self.rejected_again(request, response)
                return
        needed = self.scopes_to_step_up(response)
        if needed:
            request.headers["Authorization"] = f"Bearer {self.stepped_up_token(needed)}"
            yield request

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        self.bound_servers.check(request.url)
        token = await self.acurrent_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            renewed = await self.arenewed_token(token)
            if renewed is None:
                self.rejected_again(request, response, renewed=False)
                return
            request.headers["Authorization"] = f"Bearer {renewed}"
            response = yield request
            if response.status_code == 401:
                self.rejected_again(request, response)
                return
        needed = self.scopes_to_step_up(response)
        if needed:
            request.headers["Authorization"] = f"Bearer {await self.astepped_up_token(needed)}"
            yield request
