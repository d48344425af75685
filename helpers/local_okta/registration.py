"""``/oauth2/v1/clients``: dynamic client registration as Okta answers an MCP client (it refuses).

At Okta, ``/oauth2/v1/clients`` (RFC 7591 dynamic client registration) is an *admin* API: a
request needs an API token (``Authorization: SSWS ...``) or an access token with the
``okta.clients.register``/``okta.clients.manage`` scope (okta-developer-docs
``guides/implement-oauth-for-okta-serviceapp/main/index.md``). An MCP client registering itself has
neither, and Okta's *Configure an AI agent for Agent Gateway* guide says plainly: "Okta doesn't
accept Dynamic Client Registration ... Platforms that attempt to use Dynamic Client Registration
must fall back to a pre-registered ``client_id``" (``guides/ai-configure-agent-for-gateway/main/index.md``).

**Inferred**: Okta's documents do not print the answer to an *anonymous* registration. The local
server gives the management API's answer to a missing or invalid API token, ``401`` with the
``E0000011`` "Invalid token provided" body (Okta's error catalogue ``data/error-codes.json``,
"Invalid token exception"; the same body the Authn API reference shows for an invalid token).
Any request to the endpoint gets it: the local server has no admin API behind it.
"""

from __future__ import annotations

import secrets

from starlette.responses import JSONResponse

__all__ = ["INVALID_TOKEN_CODE", "INVALID_TOKEN_SUMMARY", "registration_refused"]

INVALID_TOKEN_CODE = "E0000011"  # error-codes.json: "Invalid token exception", 401
INVALID_TOKEN_SUMMARY = "Invalid token provided"


def registration_refused() -> JSONResponse:
    """Okta's management-API answer to a request without a valid API token (body inferred)."""
    return JSONResponse(
        {
            "errorCode": INVALID_TOKEN_CODE,
            "errorSummary": INVALID_TOKEN_SUMMARY,
            "errorLink": INVALID_TOKEN_CODE,
            "errorId": "oae" + secrets.token_hex(10),
            "errorCauses": [],
        },
        status_code=401,
    )
