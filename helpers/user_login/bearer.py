"""Call MCP tools as the signed-in user: an ``httpx2.Auth`` for ``fastmcp.Client(auth=...)``.

Every request to the gateway's MCP server gets ``Authorization: Bearer <the user's access
token>``, refreshed first when it is about to expire (:class:`~helpers.bearer_auth.RenewingBearerAuth`
runs the flow); a request to any other origin gets no token and raises
:class:`~helpers.bound_servers.UnboundServerError`:

- when the MCP server still answers 401 (the token was revoked, the clocks disagree, the signing
  key rotated), the token is refreshed once and the request sent again (at most one such refresh
  every 10 s); a second 401 is returned to the caller as it is, so a broken setup never loops;
- when it answers 403 ``insufficient_scope`` naming a scope the user has not granted, the
  gateway asks the user to sign in again for the union of the scopes (**step-up**) through the
  ``sign_in`` handler, then sends the request once more. Without a handler, or when the user or
  the policy refuses, the call fails with :class:`~helpers.user_login.errors.StepUpError`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread

from ..bearer_auth import RenewingBearerAuth
from .errors import StepUpError

__all__ = ["SignInHandler", "UserTokenAuth"]

#: Shows the user a sign-in (``pending.url``): a link, a browser, or the local test user's
#: password. May be a coroutine function; the gateway waits for the redirect afterwards.
SignInHandler = Callable[[Any], "Awaitable[None] | None"]


class UserTokenAuth(RenewingBearerAuth):
    """Bearer authentication with the tokens of a :class:`~helpers.user_login.UserLogin`."""

    def __init__(self, login: Any, *, sign_in: SignInHandler | None = None) -> None:
        self.login = login
        self.sign_in = sign_in
        self.bound_servers = login.bound_servers

    def current_token(self) -> str:
        return self.login.access_token()

    def renewed_token(self, rejected: str) -> str | None:
        fresh = self.login.refresh_after_401(rejected)
        if fresh is None:
            return None  # refreshed after a 401 moments ago: this 401 goes to the caller
        self.login.stats["retries after 401"] += 1
        return fresh.access_token

    def granted_scopes(self) -> frozenset[str]:
        tokens = self.login.tokens
        return frozenset(tokens.scopes) if tokens is not None else frozenset()

    async def astepped_up_token(self, needed: tuple[str, ...]) -> str:
        return await self.login.astep_up(needed, self.sign_in)

    def stepped_up_token(self, needed: tuple[str, ...]) -> str:
        """The blocking flow (a synchronous httpx client): run the step-up on its own event loop."""
        try:
            return anyio.run(functools.partial(self.login.astep_up, needed, self.sign_in))
        except RuntimeError as exc:
            if "already running" not in str(exc).lower():
                raise
            raise StepUpError(
                "A step-up sign-in cannot wait inside a running event loop from a synchronous client: "
                "use the async client (fastmcp.Client) with login.auth(sign_in=...).",
                needed,
            ) from None
