"""Check an authorization response before using its code: ``state``, then RFC 9207's ``iss``. One file to copy.

What it is for: your app sent a person to an authorization server to sign in, and their browser
came back to your redirect URI. Before the code in that redirect goes anywhere, two questions:

- is it the answer to *this* sign-in? ``state`` says so (a forged or stale redirect has another);
- is it from the authorization server you sent them to? ``iss`` says so (RFC 9207). Without it a
  client that knows two authorization servers can be fooled into sending one server's code (and
  its PKCE verifier) to the other: the **mix-up attack**.

The rules (MCP specification 2026-07-28, "Authorization Response Validation"): compare ``iss``,
when present, with the issuer you recorded when the sign-in began, by exact string comparison
(no lower-casing, no trailing-slash or default-port or percent-encoding normalising); refuse a
response without ``iss`` when the server's metadata sets
``authorization_response_iss_parameter_supported: true``; on a mismatch, do not act on or show
the response's ``error``/``error_description``. Messages never hold the code.

How to use it::

    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect_url).query))
    code = check_authorization_response(
        params, expected_state=state, expected_issuer=metadata["issuer"],
        iss_advertised=metadata.get("authorization_response_iss_parameter_supported") is True,
    )
    # only now: exchange `code` (with the PKCE verifier) at that issuer's token endpoint

``expected_issuer`` must come from the metadata you validated (its ``issuer`` equal to the issuer
you configured), recorded with ``state`` and the verifier. ``helpers/user_login`` (``UserLogin``)
does the same inside the gateway (``issuer_check.py``).
"""

from __future__ import annotations

import hmac

__all__ = ["AuthorizationResponseError", "check_authorization_response"]


class AuthorizationResponseError(Exception):
    """The authorization response is refused; the message says why (never the code)."""


def check_authorization_response(params, expected_state, expected_issuer, iss_advertised):
    """The code of an authorization response that passes the ``state`` and ``iss`` checks, else
    :class:`AuthorizationResponseError`. ``params``: the redirect's query as a dict of strings."""
    state = params.get("state")
    if not isinstance(state, str) or not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise AuthorizationResponseError("The response's state is not this sign-in's (forged or stale): start a new sign-in.")
    iss = params.get("iss")
    if iss is None and iss_advertised:
        raise AuthorizationResponseError(
            "The authorization server promises iss, but this response has none: a possible mix-up attack. Start a new sign-in.")
    if iss is not None and iss != expected_issuer:  # exact: no normalising of any kind
        raise AuthorizationResponseError(
            "The response's iss is not the issuer this sign-in went to (compared exactly): a possible mix-up attack. "
            "Start a new sign-in.")
    if "error" in params:  # only now may the response's error be shown
        raise AuthorizationResponseError(f"The sign-in was refused: {params['error']}: {params.get('error_description', '')}")
    code = params.get("code")
    if not code:
        raise AuthorizationResponseError("The response holds neither a code nor an error: start a new sign-in.")
    return code
