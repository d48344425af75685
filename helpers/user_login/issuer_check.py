"""RFC 9207: is this authorization response from the authorization server the sign-in went to?

The **mix-up attack**: a client that talks to more than one authorization server (a gateway
serving several MCP servers, or one whose discovery was fooled) sends the user to server A but
receives the redirect as if from server B, or the other way round. ``state`` cannot tell:
it is the client's own value and comes back whichever server answered. Without a check the
client would send B's code (and its PKCE verifier) to A's token endpoint, or A's code to an
attacker's. RFC 9207 closes it: the authorization server adds its ``iss`` (its issuer
identifier) to the redirect, and the client compares it with the issuer it recorded when it
sent the user off.

The MCP specification 2026-07-28 ("Authorization Response Validation") makes the rule exact:

====================================================  ============  ======================================
``authorization_response_iss_parameter_supported``    ``iss``       client
====================================================  ============  ======================================
``true``                                              present       compare with the recorded issuer
``true``                                              absent        refuse the response
``false`` or absent                                   present       compare with the recorded issuer
``false`` or absent                                   absent        proceed
====================================================  ============  ======================================

The comparison is a simple string comparison (RFC 3986, section 6.2.1): no case folding of
scheme or host, no default-port elision, no trailing-slash or percent-encoding normalisation.
``https://id.example.com/`` is not ``https://id.example.com``. The check comes before anything
else in the response is acted on: on a mismatch the response's ``error`` and
``error_description`` are neither shown nor used, and its ``code`` is never sent anywhere and
never appears in a message.

Whether Okta sends ``iss`` is not documented (no source found says it does); the clients check
it whenever it is present or advertised, so they are ready either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from .errors import LoginError

__all__ = ["IssuerMixUpError", "check_response_issuer", "iss_advertised"]

#: How much of a wrong ``iss`` a message quotes (it comes from whoever sent the redirect).
_QUOTED = 120


class IssuerMixUpError(LoginError):
    """The authorization response's ``iss`` is not the issuer the sign-in was sent to, or is
    missing although the authorization server advertises it (RFC 9207): a possible mix-up attack."""


def iss_advertised(metadata: Mapping) -> bool:
    """Whether the authorization server's metadata sets ``authorization_response_iss_parameter_supported``
    to ``true`` (RFC 9207, section 3; anything else, or no field, means it does not promise ``iss``)."""
    return metadata.get("authorization_response_iss_parameter_supported") is True


def check_response_issuer(redirect_url: str, *, expected_issuer: str, advertised: bool) -> None:
    """Raise :class:`IssuerMixUpError` unless the redirect's ``iss`` passes the RFC 9207 check.

    ``redirect_url`` is the address the browser was sent back to; ``expected_issuer`` is the
    issuer recorded when the sign-in began (from the pinned, validated metadata); ``advertised``
    is :func:`iss_advertised` of that metadata. The message never holds the code.
    """
    values = _query_values(redirect_url, "iss")
    if not values:
        if advertised:
            raise IssuerMixUpError(
                f"The authorization server {expected_issuer} advertises the iss parameter "
                "(authorization_response_iss_parameter_supported), but this redirect carries none. "
                "It may not come from that server (a mix-up attack, RFC 9207), so its code was not "
                "used and the sign-in is over. Start a new sign-in."
            )
        return
    if len(values) != 1 or values[0] != expected_issuer:  # simple string comparison, no normalising
        got = values[0] if len(values) == 1 else f"{len(values)} iss values"
        quoted = got if len(got) <= _QUOTED else got[:_QUOTED] + "..."
        raise IssuerMixUpError(
            f"The redirect says it comes from the issuer {quoted!r}, but this sign-in was sent to "
            f"{expected_issuer!r} (compared exactly: RFC 9207 allows no normalising). It may be a "
            "mix-up attack, so its code (and any error it carries) was not used and the sign-in is "
            "over. Start a new sign-in."
        )


def _query_values(redirect_url: str, name: str) -> Sequence[str]:
    """Every value of ``name`` in the redirect's query (decoded once, as form data)."""
    return parse_qs(urlsplit(redirect_url).query, keep_blank_values=True).get(name, [])
