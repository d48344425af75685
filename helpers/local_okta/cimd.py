"""Client ID metadata documents (CIMD), behind a switch that is off by default.

A CIMD client's ``client_id`` is an ``https://`` URL; the JSON document there describes the client
(its ``client_id``, which must be that URL exactly, and its ``redirect_uris``), and the
authorization server fetches it when the client shows up (MCP specification 2026-07-28, *Client
Registration*; the IETF draft *OAuth Client ID Metadata Document*).

Where Okta stands (okta-developer-docs ``guides/ai-agent-cimd-registration/main/index.md``,
research stage, Okta for AI Agents): an admin registers each AI agent with its CIMD URL
(``clientIdMatchPattern``, exact match only); Okta fetches the document at request time and checks
``client_id``, ``redirect_uris`` (non-empty) and the keys; the agent authenticates with
``private_key_jwt`` for the token-exchange and JWT-bearer grants. **The local server goes further
than Okta documents** so that an MCP client's browser sign-in can be shown: with the switch on
(:func:`set_client_id_metadata_documents`), a *registered* CIMD URL may also act as a public client
(``token_endpoint_auth_method`` ``none``, PKCE) for the authorization code grant, and the metadata
advertises ``client_id_metadata_document_supported``. Refusals use the catalogue's ``cimd_*``
texts. The document is fetched over https only, without redirects, within 5 s and 64 KiB, and
remembered for a minute (one sign-in asks for it several times).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import requests
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from ..bounded_fetch import BoundedSession, bounded_request
from .tenant import App

__all__ = ["CIMD_LABEL", "CimdError", "cimd_app", "set_client_id_metadata_documents"]

#: The label CIMD clients have in access policies (``add_mcp_resource`` assigns its policy to it).
CIMD_LABEL = "cimd_agent"
FETCH_TIMEOUT, MAX_BYTES, REMEMBER_SECONDS = 5.0, 64 * 1024, 60.0

NOT_MATCHING_ENTITY = "The CIMD client does not match any configured CIMD client entity."  # cimd_client_id_not_matching_entity
CLIENT_ID_MISMATCH = "The 'client_id' in the metadata document does not match the URL used to fetch it."  # cimd_client_id_mismatch
MISSING_REDIRECT_URIS = "The metadata document is missing the required 'redirect_uris' field."  # cimd_missing_redirect_uris
INVALID_JSON = "The metadata document could not be parsed as valid JSON."  # cimd_invalid_metadata_json
INVALID_DETAILS = "The metadata document contains invalid client configuration details."  # cimd_invalid_client_details


class CimdError(oauth2_errors.FatalClientError):
    """``invalid_client_metadata`` (400): an error page at /authorize (the client is not known, so
    nothing is redirected), a JSON answer at /token."""

    error = "invalid_client_metadata"
    status_code = 400


def set_client_id_metadata_documents(okta: Any, urls: Iterable[str] | None) -> None:
    """Make the ``LocalOkta`` ``okta`` accept these CIMD URLs as client ids (the AI agents an admin registered; exact match), and
    advertise ``client_id_metadata_document_supported``; ``None`` or empty: off (the default)."""
    registered = frozenset(urls or ())
    if any(not isinstance(url, str) or not url.startswith("https://") for url in registered):
        raise ValueError("A CIMD client id is an https:// URL.")
    state = okta._state  # package-internal: the switch lives with the rest of the org's state
    state.cimd_urls, state.cimd_cache = registered, {}


def cimd_app(state: Any, client_id: str) -> App | None:
    """The client a registered CIMD URL describes (``state``: the ``OktaState``); ``None`` when CIMD is off or ``client_id`` is no URL."""
    if not state.cimd_urls or not client_id.startswith("https://"):
        return None
    if client_id not in state.cimd_urls:
        raise CimdError(description=NOT_MATCHING_ENTITY)
    remembered = state.cimd_cache.get(client_id)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    app = _app_from(client_id, _fetch(client_id), [user.login for user in state.tenant.users])
    state.cimd_cache[client_id] = (time.monotonic() + REMEMBER_SECONDS, app)
    return app


def _fetch(url: str) -> object:
    try:
        with BoundedSession() as http:
            response, body = bounded_request(http, "GET", url, timeout=FETCH_TIMEOUT, max_bytes=MAX_BYTES,
                                             allow_redirects=False, headers={"Accept": "application/json"})
    except requests.RequestException:
        raise CimdError(description=INVALID_DETAILS) from None  # unreachable, too slow or too large
    if response.status_code != 200:
        raise CimdError(description=INVALID_DETAILS)
    try:
        return json.loads(body)
    except ValueError:
        raise CimdError(description=INVALID_JSON) from None


def _app_from(url: str, document: object, users: list[str]) -> App:
    """The document as an app: a public client (PKCE) with exactly the listed redirect URIs."""
    if not isinstance(document, dict):
        raise CimdError(description=INVALID_JSON)
    if document.get("client_id") != url:
        raise CimdError(description=CLIENT_ID_MISMATCH)
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise CimdError(description=MISSING_REDIRECT_URIS)
    name = document.get("client_name", url)
    if (not all(isinstance(uri, str) and uri for uri in uris) or not isinstance(name, str)
            or document.get("token_endpoint_auth_method", "none") != "none"):
        raise CimdError(description=INVALID_DETAILS)  # private_key_jwt CIMD clients are not emulated
    return App(label=CIMD_LABEL, name=name[:100], client_id=url, grant_types=("authorization_code", "refresh_token"),
               redirect_uris=tuple(uris), token_endpoint_auth_method="none", require_pkce=True,
               assigned_users=tuple(users))
