"""What the token manager raises when an MCP server will not take its token, or wants more scopes.

- :class:`TokenRejectedError`: the server answered 401 to a freshly renewed token as well (or
  again within seconds of a renewal, which the manager does not repeat: :mod:`helpers.pacing`);
- :class:`StepUpRefusedError`: the server answered 403 ``insufficient_scope`` naming a scope the
  manager cannot get: not among the scopes it was configured to hold, refused or only partly
  granted by the authorization server, or too many step-ups in a minute.
"""

from __future__ import annotations

from .responses import TokenError

__all__ = ["StepUpRefusedError", "TokenRejectedError"]


class TokenRejectedError(TokenError):
    """The MCP server answered 401 to a freshly renewed token as well (or no renewal was allowed)."""

    def __init__(self, url: str, www_authenticate: str | None, *, renewed: bool = True) -> None:
        self.url = url
        self.www_authenticate = www_authenticate
        answer = "HTTP 401" + (f", WWW-Authenticate: {www_authenticate}" if www_authenticate else "")
        if renewed:
            what = f"The server at {url} rejected a freshly fetched access token too ({answer}). Renewing again will not help"
        else:
            what = (
                f"The server at {url} rejected the access token ({answer}), and this manager renewed its token "
                "after a 401 moments ago: it renews after a 401 at most once every 10 s, so that a server "
                "cannot make it hammer the token endpoint"
            )
        super().__init__(
            what + ": check that the server trusts this issuer and audience (OAUTH_ISSUER, OAUTH_AUDIENCE) "
            "and that both clocks are right."
        )


class StepUpRefusedError(TokenError):
    """The MCP server asked for a scope (403 ``insufficient_scope``) that this client cannot get."""

    def __init__(self, needed: tuple[str, ...], requested: tuple[str, ...], reason: str, *, message: str | None = None) -> None:
        self.needed, self.requested = needed, requested
        super().__init__(message or (
            f"The MCP server needs the scope {' '.join(needed)} for this call (403 insufficient_scope). "
            f"The token manager asked for {' '.join(requested)} and {reason}. Allow this app those "
            "scopes in the access policy rule (Security > API > Authorization Servers > Access "
            "Policies), or do not call tools it may not use."
        ))

    @classmethod
    def not_allowed(cls, needed: tuple[str, ...], outside: list[str], allowed: tuple[str, ...]) -> StepUpRefusedError:
        """The server named scopes this manager was not configured to hold: nothing is requested."""
        return cls(needed, (), "", message=(
            f"The MCP server asks for the scope {' '.join(outside)} (403 insufficient_scope), which this "
            f"token manager was not configured to hold (allowed_scopes: {' '.join(allowed) or 'none'}). It "
            "does not ask the authorization server for scopes on a server's say-so. If this call should "
            "work, add the scope to allowed_scopes (and to the app's access policy rule)."
        ))

    @classmethod
    def paced(cls, needed: tuple[str, ...], limit: int, period: float, wait: float) -> StepUpRefusedError:
        """Too many step-ups lately: nothing is requested until the pace allows one more."""
        return cls(needed, (), "", message=(
            f"The MCP server asks for the scope {' '.join(needed)} (403 insufficient_scope), but this token "
            f"manager already stepped up {limit} times in the last {period:g} s and does no more, so that "
            f"a server cannot make it hammer the token endpoint. Try again in {wait:.0f} s; if step-ups keep "
            "coming, start with the scopes the job needs (scopes=...)."
        ))
