"""Call MCP tools as the signed-in user: an ``httpx2.Auth`` for ``fastmcp.Client(auth=...)``.

Every request gets ``Authorization: Bearer <the user's access token>``, refreshed first when
it is about to expire. When the MCP server still answers 401 (the token was revoked, the
clocks disagree, the signing key rotated), the token is refreshed once and the request sent
again; a second 401 is returned to the caller as it is, so a broken setup never loops.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import anyio
import httpx2

if TYPE_CHECKING:
    from .gateway import UserLogin

__all__ = ["UserTokenAuth"]


class UserTokenAuth(httpx2.Auth):
    """Bearer authentication with the tokens of a :class:`~helpers.user_login.UserLogin`."""

    requires_request_body = True  # a request is sent twice after a 401, so keep its body

    def __init__(self, login: UserLogin) -> None:
        self.login = login

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.read()
        token = self.login.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = self.login.refresh(stale_access_token=token)
            self.login.stats["retries after 401"] += 1
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        # Token requests use blocking HTTP (requests-oauthlib): keep them off the event loop.
        token = await anyio.to_thread.run_sync(self.login.access_token)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            refresh = functools.partial(self.login.refresh, stale_access_token=token)
            fresh = await anyio.to_thread.run_sync(refresh)
            self.login.stats["retries after 401"] += 1
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request
