"""The checks of the authorization server itself: issuer, metadata, keys, grants, scopes.

Each check takes the run (``http.Run``) and returns ``(status, seen, fix)``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import jwt

from . import diagnosis as fixes
from .http import Run
from .results import Status

__all__ = ["check_grant_types", "check_issuer", "check_jwks", "check_jwks_uri", "check_metadata",
           "check_metadata_issuer", "check_scopes"]

#: Grants the tutorial uses: services (client credentials), the gateway signing users in
#: (authorization code) and keeping them signed in (refresh token).
REQUIRED_GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")


def check_issuer(run: Run):
    issuer = run.settings.issuer
    if not issuer:
        return Status.FAIL, "no issuer is configured", "Set OAUTH_ISSUER in .env. " + fixes.ISSUER_FIX
    parts = urlsplit(issuer.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or issuer != issuer.strip()
        or any(c.isspace() for c in issuer)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        return Status.FAIL, f"{issuer!r} is not a well-formed https:// URL", fixes.ISSUER_FIX
    if parts.scheme == "http":
        return Status.FAIL, f"{issuer} uses http://; Okta serves issuers over https:// only", fixes.ISSUER_FIX
    if issuer.endswith("/"):
        return Status.FAIL, f"{issuer} ends with '/'; tokens carry the issuer without it", fixes.ISSUER_FIX
    path = parts.path
    if path == "":
        return Status.FAIL, (
            f"{issuer} has no /oauth2/ in its path: that is the org authorization server, whose "
            "tokens are for Okta's own APIs only; a resource server such as the calculator must not accept them"
        ), "Use a custom authorization server (Security > API > Authorization Servers: default, or Add "\
           "Authorization Server with the calculator's audience). " + fixes.ISSUER_FIX
    match = re.fullmatch(r"/oauth2/([^/]+)", path)
    if match and match.group(1) != "v1":
        return Status.PASS, f".../oauth2/{match.group(1)}: the custom authorization server '{match.group(1)}'", None
    if path.startswith("/oauth2/v1"):
        return Status.FAIL, (
            f"{issuer} is an endpoint of the org authorization server, whose tokens are for Okta's "
            "own APIs only"
        ), fixes.ISSUER_FIX
    if re.match(r"/oauth2/[^/]+/", path):
        base = re.match(r"/oauth2/[^/]+", path).group(0)
        return Status.FAIL, (
            f"{issuer} is an endpoint or document of the authorization server, not its issuer "
            f"(the issuer is {parts.scheme}://{parts.netloc}{base})"
        ), fixes.ISSUER_FIX
    return Status.FAIL, (
        f"{issuer} is not an Okta custom authorization server's issuer (https://{{domain}}/oauth2/{{id}})"
    ), fixes.ISSUER_FIX


def check_metadata(run: Run):
    url = f"{run.settings.issuer}/.well-known/oauth-authorization-server"
    run.metadata = run.get_json(url, "metadata document")
    missing = [n for n in ("issuer", "token_endpoint", "authorization_endpoint", "jwks_uri")
               if not isinstance(run.metadata.get(n), str) or not run.metadata.get(n)]
    if missing:
        return Status.FAIL, f"the metadata at {url} lacks {', '.join(missing)}", fixes.ISSUER_FIX
    return Status.PASS, "JSON at OAUTH_ISSUER + /.well-known/oauth-authorization-server", None


def check_metadata_issuer(run: Run):
    published, configured = run.metadata["issuer"], run.settings.issuer
    if published != configured:
        return Status.FAIL, (
            f"the metadata says issuer {published!r}, OAUTH_ISSUER is {configured!r}; tokens carry the "
            "metadata's, so the server would refuse them all"
        ), fixes.ISSUER_FIX
    return Status.PASS, "identical, character for character", None


def check_jwks_uri(run: Run):
    published, configured = run.metadata["jwks_uri"], run.settings.jwks_uri
    if not configured:
        return Status.PASS, "not set in .env; the server reads it from the metadata", None
    if configured != published:
        return Status.FAIL, (
            f"OAUTH_JWKS_URI is {configured}, the metadata says {published}: the server would look "
            "for the signing keys in the wrong place and refuse every token"
        ), fixes.JWKS_URI_FIX
    return Status.PASS, "equal to the metadata's jwks_uri", None


def check_jwks(run: Run):
    jwks = run.get_json(run.metadata["jwks_uri"], "JWKS")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        return Status.FAIL, "the JWKS has no keys", "Okta always publishes keys: check that jwks_uri belongs to your authorization server. " + fixes.ISSUER_FIX
    usable = []
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or not key.get("kid"):
            continue
        if key.get("alg", "RS256") != "RS256" or key.get("use", "sig") != "sig":
            continue
        try:
            jwt.PyJWK(key)
        except jwt.PyJWTError:
            continue
        usable.append(key)
    if not usable:
        return Status.FAIL, f"{len(keys)} key(s), none an RSA signing key for RS256 with a kid", \
            "Okta signs access tokens with RS256; check that jwks_uri belongs to your Okta authorization server."
    return Status.PASS, f"{len(usable)} RS256 signing key(s), each with a kid", None


def check_grant_types(run: Run):
    supported = run.metadata.get("grant_types_supported")
    if not isinstance(supported, list):
        return Status.WARN, "the metadata does not list grant_types_supported", \
            "An Okta custom authorization server lists them; check OAUTH_ISSUER. " + fixes.ISSUER_FIX
    missing = [grant for grant in REQUIRED_GRANT_TYPES if grant not in supported]
    if missing:
        return Status.FAIL, f"missing: {', '.join(missing)}", (
            "An Okta custom authorization server supports all three; check OAUTH_ISSUER. "
            + fixes.ISSUER_FIX + " Each app's own grants are set under Applications and Resources > Applications > "
            "(your app) > General > Grant type."
        )
    return Status.PASS, ", ".join(REQUIRED_GRANT_TYPES), None


def check_scopes(run: Run):
    supported = run.metadata.get("scopes_supported")
    if not isinstance(supported, list):
        return Status.WARN, "the metadata does not list scopes_supported; the token checks will tell", \
            fixes.ADD_SCOPE_FIX.format(scope=" / ".join(run.scopes))
    missing = [scope for scope in run.scopes if scope not in supported]
    if missing:
        names = ", ".join(missing)
        return Status.WARN, (
            f"{names} not in scopes_supported: not defined, or defined without 'Include in public "
            "metadata' (the token checks below tell which)"
        ), fixes.ADD_SCOPE_FIX.format(scope=names) + " If it exists, tick 'Include in public metadata'."
    return Status.PASS, ", ".join(run.scopes), None
