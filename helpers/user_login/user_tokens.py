"""The tokens a gateway stores for one signed-in user (``repr`` masks every token)."""

from __future__ import annotations

from dataclasses import dataclass

from ..display import mask_token

__all__ = ["UserTokens"]


@dataclass(frozen=True, repr=False)
class UserTokens:
    """The tokens stored for the signed-in user. ``repr`` masks every token.

    ``obtained_at`` and ``expires_at`` are seconds on the gateway's clock; ``expires_at`` comes
    from ``expires_in`` (the gateway treats the access token as opaque, as OAuth intends).
    ``scopes`` are the scopes the authorization server granted.
    """

    access_token: str
    refresh_token: str | None
    id_token: str | None
    scopes: tuple[str, ...]
    obtained_at: float
    expires_at: float | None
    token_type: str = "Bearer"

    @property
    def lifetime(self) -> float | None:
        return None if self.expires_at is None else self.expires_at - self.obtained_at

    def expires_in(self, now: float) -> float | None:
        return None if self.expires_at is None else self.expires_at - now

    def is_due(self, now: float, margin: float) -> bool:
        """Whether to refresh now: less than ``margin`` seconds left (at most half the lifetime)."""
        if self.expires_at is None:
            return False
        return self.expires_at - now <= min(margin, (self.lifetime or 0) / 2)

    def is_expired(self, now: float) -> bool:
        """Whether the access token has expired (a token without a lifetime never does here)."""
        return self.expires_at is not None and now >= self.expires_at

    def __repr__(self) -> str:
        return (
            f"UserTokens(access_token={mask_token(self.access_token)!r}, "
            f"refresh_token={'<present>' if self.refresh_token else '<none>'}, "
            f"id_token={'<present>' if self.id_token else '<none>'}, scopes={list(self.scopes)!r})"
        )
