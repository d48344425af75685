"""Read a ``WWW-Authenticate: Bearer ...`` challenge (RFC 6750 section 3, RFC 9728 section 5.1).

A protected MCP server answers ``401`` (no token, or a bad one) and ``403`` (a valid token
without the scope a tool needs) with a challenge such as::

    WWW-Authenticate: Bearer error="insufficient_scope", scope="calculator.subtract",
                      resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

:func:`bearer_challenge` turns it into a :class:`Challenge`; the parameter list is split by
``requests.utils.parse_dict_header`` (quoted values may hold commas and spaces).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from requests.utils import parse_dict_header

__all__ = ["Challenge", "bearer_challenge"]


@dataclass(frozen=True)
class Challenge:
    """The parameters of one Bearer challenge; ``scopes`` is ``None`` when it names none."""

    error: str | None = None
    error_description: str | None = None
    scopes: tuple[str, ...] | None = None
    resource_metadata: str | None = None

    @property
    def is_insufficient_scope(self) -> bool:
        return self.error == "insufficient_scope"


def bearer_challenge(headers: Mapping[str, str] | str | None) -> Challenge | None:
    """The Bearer challenge in ``headers`` (or in a ``WWW-Authenticate`` value), or ``None``."""
    if headers is None:
        return None
    value = headers if isinstance(headers, str) else headers.get("WWW-Authenticate")
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        params = {key.lower(): val for key, val in parse_dict_header(rest).items() if isinstance(val, str)}
    except ValueError:
        return Challenge()
    scope = params.get("scope")
    return Challenge(
        error=params.get("error") or None,
        error_description=params.get("error_description") or None,
        scopes=tuple(scope.split()) if scope is not None else None,
        resource_metadata=params.get("resource_metadata") or None,
    )
