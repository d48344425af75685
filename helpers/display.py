"""What notebooks show: masked tokens and secrets, claim tables, relative times, check marks.

Everything here returns text that is safe to print (no whole token, no secret) and stable
between runs (sorted keys, times relative to now), so strict nbval can compare it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "CLAIM_MEANINGS",
    "check_mark",
    "claims_table",
    "mask_secret",
    "mask_token",
    "markdown_text",
    "relative_time",
    "sign_in_markdown",
    "table",
]

#: What each Okta access-token claim means, for claim tables.
CLAIM_MEANINGS = {
    "ver": "token format version (Okta: 1)",
    "jti": "unique token id ('AT.' for access tokens)",
    "iss": "issuer: the authorization server that signed it",
    "aud": "audience: the API (resource server) it is for",
    "iat": "issued at",
    "exp": "expires at",
    "nbf": "not valid before",
    "cid": "client id of the app that asked for it",
    "uid": "Okta user id (user tokens only)",
    "scp": "granted scopes",
    "sub": "subject: the user's login, or the client id for a service",
    "auth_time": "when the user signed in",
    "amr": "how the user signed in",
    "idp": "identity provider that signed the user in",
    "nonce": "echo of the client's nonce (ID tokens)",
    "email": "the user's email",
    "name": "the user's name",
    "preferred_username": "the user's login",
}

_TIME_CLAIMS = ("iat", "exp", "nbf", "auth_time")


def mask_token(token: str | None, shown: int = 7) -> str:
    """``eyJraWQ...<812 chars>``: enough to recognise a token, never enough to use it."""
    if not token:
        return "<none>"
    return f"{token[:shown]}...<{len(token)} chars>"


def mask_secret(secret: str | None) -> str:
    """A secret as ``********<40 chars>``: its presence and length, nothing of its value."""
    if not secret:
        return "<not set>"
    return f"********<{len(secret)} chars>"


def relative_time(timestamp: float, now: float | None = None) -> str:
    """``in 3600 s`` or ``3600 s ago``, rounded to whole seconds (``now`` for a few seconds' slack)."""
    now = time.time() if now is None else now
    delta = round(timestamp - now)
    if abs(delta) <= 2:
        return "now"
    return f"in {delta} s" if delta > 0 else f"{-delta} s ago"


def format_claim(name: str, value: Any, now: float | None = None) -> str:
    """A claim's value as a notebook shows it: times relative to now, ids kept, lists joined."""
    if name in _TIME_CLAIMS and isinstance(value, (int, float)):
        return relative_time(value, now)
    if name == "jti" and isinstance(value, str) and len(value) > 6:
        return value[:3] + "...(unique per token)"
    if isinstance(value, (list, tuple)):
        return json.dumps(sorted(value) if name == "scp" else list(value))
    return json.dumps(value) if not isinstance(value, str) else value


def claims_table(
    claims: Mapping[str, Any],
    *,
    now: float | None = None,
    varying: Iterable[str] = (),
    meanings: Mapping[str, str] = CLAIM_MEANINGS,
) -> str:
    """A text table of ``claims``: name, value (times relative, sorted), and what it means.

    ``varying`` names claims to show as ``(varies)`` because they differ from run to run
    (a port in ``iss`` under the local server, say).
    """
    varying = set(varying)
    rows = []
    for name in sorted(claims):
        value = "(varies)" if name in varying else format_claim(name, claims[name], now)
        rows.append((name, value, meanings.get(name, "")))
    return table(("claim", "value", "meaning"), rows)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns (stable under strict nbval)."""
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in text_rows)) if text_rows else len(str(h)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in text_rows)])


def check_mark(ok: bool | None) -> str:
    """✅ for True, ❌ for False, ⚠️ for None (could not tell)."""
    return {True: "✅", False: "❌", None: "⚠️"}[ok]


_MARKDOWN_PUNCTUATION = "\\`*_{}[]()#+-.!<>|~:&\"'$%,/;=?@^"


def markdown_text(text: str) -> str:
    """``text`` escaped for Markdown: shown as typed, never a link, image, heading or HTML.

    For text a server or a user chose (such as the scopes a 403 asks for) put into
    ``IPython.display.Markdown``: every ASCII punctuation mark gets a backslash (CommonMark
    allows that for all of them), so ``[x](https://evil.example)``, ``<a href=...>`` or a bare
    ``https://...`` stay text; line breaks become spaces, so no new heading or list starts.
    """
    flat = " ".join(str(text).split())
    return "".join("\\" + char if char in _MARKDOWN_PUNCTUATION else char for char in flat)


def sign_in_markdown(url: str, scopes: Iterable[str] = ()) -> str:
    """The Markdown of a sign-in link to ``url``, followed by the ``scopes`` it asks for, as text.

    The link is the only one: the scopes (which a resource server's 403 may have named) are
    escaped with :func:`markdown_text`, and characters that would end the link's address are
    percent-encoded.
    """
    address = "".join(f"%{ord(char):02X}" if char in " ()<>\\" else char for char in url)
    line = f"**[Sign in here]({address})**"
    shown = " ".join(scopes)
    return f"{line} to allow: {markdown_text(shown)}" if shown else line
