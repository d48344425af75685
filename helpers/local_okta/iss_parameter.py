"""RFC 9207's ``iss`` in the authorization response, behind a switch that is off by default.

An authorization server that supports RFC 9207 adds ``iss`` (its issuer identifier) to every
redirect back to the client, successes and errors alike (section 2), and says so in its
metadata with ``authorization_response_iss_parameter_supported: true`` (section 3). The MCP
specification 2026-07-28 asks MCP authorization servers to (SHOULD) and MCP clients to check it.

**Inferred, not Okta's documented behaviour:** no Okta document found says whether Okta sends
``iss`` or advertises it (okta-developer-docs mentions neither RFC 9207 nor the metadata field),
so the local server does neither unless
:meth:`LocalOkta.set_authorization_response_iss(True) <helpers.local_okta.LocalOkta.set_authorization_response_iss>`
switches it on (the tests and notebook 07 do, to show the clients' check at work).
"""

from __future__ import annotations

from oauthlib.common import add_params_to_uri

__all__ = ["METADATA_FIELD", "response_issuer", "with_iss"]

#: The metadata field that promises ``iss`` in every authorization response (RFC 9207, section 3).
METADATA_FIELD = "authorization_response_iss_parameter_supported"


def response_issuer(state, server_id: str) -> str | None:
    """The ``iss`` to add to authorization responses of ``server_id``; ``None`` while switched off."""
    return state.issuer(server_id) if getattr(state, "authorization_response_iss", False) else None


def with_iss(location: str, iss: str | None) -> str:
    """``location`` (a redirect carrying the code in its query) with ``iss`` added, if any."""
    return add_params_to_uri(location, [("iss", iss)]) if iss else location
