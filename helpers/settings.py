"""Configuration: which authorization server the tutorial talks to, and with which clients.

One place reads the process environment and ``.env`` (environment variables win over
``.env``). ``OAUTH_ISSUER``, ``OAUTH_AUDIENCE`` and ``OAUTH_JWKS_URI`` are the names TrueFoundry's
guide *Add Okta OAuth to a Calculator MCP Server* uses (GUIDE_MAP.md); the others are this series' own:

============================  ===========================================================
``OAUTH_ISSUER``              the custom authorization server, ``https://{domain}/oauth2/{id}``
``OAUTH_AUDIENCE``            the audience configured on that authorization server
``OAUTH_JWKS_URI``            optional; read from the issuer's metadata when absent
``M2M_CLIENT_ID`` / ``_SECRET``  the service app for the client-credentials grant (notebooks 02-05)
``READ_M2M_CLIENT_ID`` / ``_SECRET``  optional: a second, read-only service app (notebook 05)
``CLIENT_ID`` / ``CLIENT_SECRET``  optional: the web app a gateway signs users in with (notebook 06)
``DEVICE_CLIENT_ID``          optional: a Native app with the Device Authorization grant (device sign-in)
``OAUTH_SEND_RESOURCE``       ``true`` to send RFC 8707 ``resource`` to this authorization
                              server (default ``false``: Okta may reject it, see notebook 06)
``OAUTH_CA_FILE``             optional: a CA certificate to trust besides the public ones (the
                              local server run by another process prints its own)
``MCP_CLIENT_ID``             optional: the Native app (public client, PKCE, no secret) that
                              standard MCP clients sign in with, since Okta refuses their
                              dynamic client registration (notebook 07)
``MCP_REDIRECT_URI``          optional: that app's redirect URI (default ``http://127.0.0.1:8766/callback``)
``OAUTH_REDIRECT_URI``        optional: the web app's sign-in redirect URI this gateway listens
                              on (default ``http://127.0.0.1:8765/callback``); Okta compares it
                              exactly, port included, so each learner on a shared host registers
                              their own port. The local server takes any loopback port instead.
============================  ===========================================================

With none of the ``OAUTH_*`` variables set, the tutorial uses its local Okta-compatible
authorization server (``mode == "local"``). ``TUTORIAL_AUTH_SERVER=local`` forces that
even when ``.env`` is filled in (the test suite sets it), ``TUTORIAL_AUTH_SERVER=okta``
insists on ``.env``. Half a configuration is refused with a :class:`ConfigurationError`
that names the variable and the fix: a check is never skipped because a value is missing.
On POSIX a ``.env`` that another user owns or can write is refused, like ``OAUTH_CA_FILE``
(no such check on Windows, whose permissions are ACLs).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv

from helpers.urls import is_https, is_secure_or_loopback

__all__ = [
    "ConfigurationError", "ClientCredentials", "Settings", "load_settings",
    "REGISTERED_REDIRECT_URI", "ANY_PORT_REDIRECT_URI",
]

OAUTH_VARIABLES = ("OAUTH_ISSUER", "OAUTH_AUDIENCE", "OAUTH_JWKS_URI")
MODE_VARIABLE = "TUTORIAL_AUTH_SERVER"
#: The sign-in redirect URI notebook 02 registers on the web app in Okta (OAUTH_REDIRECT_URI's default).
REGISTERED_REDIRECT_URI = "http://127.0.0.1:8765/callback"
#: Port 0: a free port per sign-in (RFC 8252, 7.3), for the local server, which accepts any loopback port.
ANY_PORT_REDIRECT_URI = "http://127.0.0.1:0/callback"
_PLACEHOLDER_MARKS = ("{", "}", "<", ">", "your-", "yourOktaDomain", "changeme")


class ConfigurationError(ValueError):
    """The configuration is incomplete or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth client's id and secret. The secret never appears in ``repr``."""

    client_id: str
    client_secret: str | None

    def __repr__(self) -> str:
        secret = "None" if self.client_secret is None else "'***'"
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret={secret})"


@dataclass(frozen=True)
class Settings:
    """What the notebooks and the server need to know about the authorization server."""

    mode: Literal["local", "okta"]
    issuer: str | None = None
    audience: str | None = None
    jwks_uri: str | None = None
    m2m_client: ClientCredentials | None = None
    web_client: ClientCredentials | None = None
    read_only_client: ClientCredentials | None = None
    device_client: ClientCredentials | None = None  # DEVICE_CLIENT_ID: a Native app, device sign-in
    source: str = "environment"
    #: RFC 8707: whether clients send ``resource`` to this authorization server (OAUTH_SEND_RESOURCE)
    send_resource_parameter: bool = False
    #: a CA certificate file to trust besides the public roots (OAUTH_CA_FILE), or None
    ca_file: str | None = None
    #: where the gateway of notebook 06 receives the sign-in redirect (OAUTH_REDIRECT_URI); port 0
    #: (the local server) means a free port for each sign-in
    redirect_uri: str = ANY_PORT_REDIRECT_URI
    #: the pre-registered public client standard MCP clients use (MCP_CLIENT_ID; no secret)
    mcp_client: ClientCredentials | None = None
    #: where a standard MCP client receives the sign-in redirect with a tenant (MCP_REDIRECT_URI); None: the default
    mcp_redirect_uri: str | None = None

    @property
    def uses_local_server(self) -> bool:
        return self.mode == "local"

    def require_m2m_client(self) -> ClientCredentials:
        """The service app's credentials, or an error saying which variables to set."""
        if self.m2m_client is None:
            raise ConfigurationError(
                "M2M_CLIENT_ID and M2M_CLIENT_SECRET are not set. Copy them from the service "
                "app in Okta (Applications > your API Services app > General) into .env."
            )
        return self.m2m_client

    def require_web_client(self) -> ClientCredentials:
        """The web app's credentials, or an error saying what to create and which variables to set."""
        if self.web_client is None:
            raise ConfigurationError(
                "CLIENT_ID is not set (or still a placeholder): notebook 06 signs a user in through a web "
                "app. Create one in Okta (Applications > Create App Integration > OIDC - OpenID Connect > "
                "Web Application; grant types Authorization Code and Refresh Token; sign-in redirect URI "
                f"{self.redirect_uri}; assign yourself), then copy its Client ID and Client "
                "secret into CLIENT_ID and CLIENT_SECRET in .env. Notebook 02 lists every setting."
            )
        return self.web_client

    def require_read_only_client(self) -> ClientCredentials:
        """The read-only service app's credentials, or an error saying what to create."""
        if self.read_only_client is None:
            raise ConfigurationError(
                "READ_M2M_CLIENT_ID is not set (or still a placeholder): notebook 05 compares a read-only "
                "service with the write service. Create a second API Services app, give it its own access "
                "policy whose rule allows Client Credentials with the scope calculator.add only, and copy "
                "its Client ID and secret into READ_M2M_CLIENT_ID and READ_M2M_CLIENT_SECRET in .env."
            )
        return self.read_only_client


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Read the configuration from ``environ`` (default: ``os.environ``) and a ``.env`` file.

    ``env_file`` defaults to the nearest ``.env`` found from the current directory upward
    (so notebooks in ``notebooks/`` find the one at the repository root); pass ``""`` to
    read no file. Raises :class:`ConfigurationError` for an incomplete or malformed setup.
    """
    environ = os.environ if environ is None else environ
    path = find_dotenv(usecwd=True) if env_file is None else str(env_file)
    from_file = {k: v for k, v in dotenv_values(stream=_read_env_file(path)).items() if v is not None} if path else {}
    values = {**from_file, **{k: v for k, v in environ.items() if v is not None}}
    source = f"{Path(path).name} and environment" if from_file else "environment"

    def get(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    requested = (get(MODE_VARIABLE) or "auto").lower()
    if requested not in ("auto", "local", "okta"):
        raise ConfigurationError(
            f"{MODE_VARIABLE}={requested!r} is not understood: use 'local' (the built-in "
            "authorization server), 'okta' (the tenant in .env) or leave it unset."
        )
    configured = [name for name in OAUTH_VARIABLES if get(name)]
    send_resource = _boolean(get, "OAUTH_SEND_RESOURCE")
    ca_file = get("OAUTH_CA_FILE")
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigurationError(f"OAUTH_CA_FILE={ca_file!r} is not a file: give the path of a PEM CA certificate, or remove the line.")
    if ca_file is not None:
        from helpers.local_tls import UnsafeCAFileError, read_ca_file

        try:
            read_ca_file(ca_file)
        except UnsafeCAFileError as exc:
            raise ConfigurationError(f"OAUTH_CA_FILE: {exc}") from None
    if requested == "local" or (requested == "auto" and not configured):
        return Settings(mode="local", source=source, send_resource_parameter=send_resource)

    issuer = _require(get, "OAUTH_ISSUER", "the issuer URI of your custom authorization server "
                      "(Security > API > Authorization Servers > Issuer URI)")
    audience = _require(get, "OAUTH_AUDIENCE", "the audience of that authorization server "
                        "(Security > API > Authorization Servers > Audience)")
    _check_url("OAUTH_ISSUER", issuer)
    if issuer.endswith("/"):
        raise ConfigurationError(
            f"OAUTH_ISSUER={issuer!r} ends with '/'. Okta's issuer has no trailing slash and "
            "tokens must match it exactly: remove the slash."
        )
    jwks_uri = get("OAUTH_JWKS_URI")
    if jwks_uri:
        _check_url("OAUTH_JWKS_URI", jwks_uri)
    redirect_uri = _redirect_uri(get("OAUTH_REDIRECT_URI") or REGISTERED_REDIRECT_URI)
    return Settings(
        mode="okta",
        issuer=issuer,
        audience=audience,
        jwks_uri=jwks_uri,
        m2m_client=_client(get, "M2M_CLIENT_ID", "M2M_CLIENT_SECRET", secret_required=True),
        web_client=_client(get, "CLIENT_ID", "CLIENT_SECRET", secret_required=False, optional=True),
        read_only_client=_client(get, "READ_M2M_CLIENT_ID", "READ_M2M_CLIENT_SECRET", secret_required=True, optional=True),
        device_client=_public_client(get, "DEVICE_CLIENT_ID"),
        source=source,
        send_resource_parameter=send_resource,
        ca_file=ca_file,
        redirect_uri=redirect_uri,
        mcp_client=_public_client(get, "MCP_CLIENT_ID"),
        mcp_redirect_uri=get("MCP_REDIRECT_URI") or None,  # checked (and defaulted) by helpers.mcp_client
    )


def _read_env_file(path: str) -> io.StringIO:
    """The text of ``.env``, read only if no other user could have written it.

    On POSIX the file must belong to this user (or root) and be writable by nobody else: the
    upward search finds a ``.env`` in any parent folder, and one planted there could point the
    tutorial at another sign-in page and token endpoint. Windows has no such check (its ACLs
    do not map onto these bits). A missing file reads as empty.
    """
    try:
        with open(path, encoding="utf-8-sig") as file:
            info = os.fstat(file.fileno())
            text = file.read()
    except FileNotFoundError:
        return io.StringIO("")
    if hasattr(os, "getuid"):
        foreign = info.st_uid not in (os.getuid(), 0)
        if foreign or info.st_mode & 0o022:
            raise ConfigurationError(
                f"The settings file {path} is not trusted: it "
                f"{'belongs to another user' if foreign else 'can be written by other users'}, who could point "
                "this tutorial at their own sign-in page and collect your secrets. Use a .env only you can write "
                f"(`chmod 600 {path}`; if another user owns it, delete it and copy .env.example again)."
            )
    return io.StringIO(text)


def _redirect_uri(value: str) -> str:
    """OAUTH_REDIRECT_URI as registered in Okta: https://, or http:// to this machine with its port."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if is_https(value) or (is_secure_or_loopback(value) and port):
        return value
    raise ConfigurationError(
        f"OAUTH_REDIRECT_URI={value!r} is not a redirect URI this gateway can use: give the web app's "
        "Sign-in redirect URI exactly as registered in Okta, https://... or http://127.0.0.1:PORT/callback "
        "(a port of your own on a shared host, e.g. http://127.0.0.1:8701/callback)."
    )


def _boolean(get, name: str) -> bool:
    value = (get(name) or "false").lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ConfigurationError(f"{name}={value!r} is not understood: use true or false (default false).")


def _require(get, name: str, what: str) -> str:
    value = get(name)
    if value is None:
        present = ", ".join(n for n in OAUTH_VARIABLES if get(n)) or MODE_VARIABLE + "=okta"
        raise ConfigurationError(
            f"{name} is not set, but {present} is, so the tutorial expects a real Okta tenant. "
            f"Set {name} to {what} in .env, or remove the OAUTH_* variables to use the local "
            "authorization server."
        )
    if any(mark in value for mark in _PLACEHOLDER_MARKS):
        raise ConfigurationError(
            f"{name}={value!r} still holds the placeholder from .env.example: replace it with {what}."
        )
    return value


def _check_url(name: str, value: str) -> None:
    if is_https(value):
        return
    raise ConfigurationError(
        f"{name}={value!r} is not an https:// URL. Okta serves its authorization servers over "
        "HTTPS only: copy the Issuer URI exactly as the Admin Console shows it."
    )


def _public_client(get, id_name: str) -> ClientCredentials | None:
    """A public client's id (no secret exists); a placeholder counts as not set."""
    client_id = get(id_name)
    if client_id is None or any(mark in client_id for mark in _PLACEHOLDER_MARKS):
        return None
    return ClientCredentials(client_id, None)


def _client(get, id_name: str, secret_name: str, *, secret_required: bool, optional: bool = False) -> ClientCredentials | None:
    """An app's id and secret from two variables. ``optional``: placeholders count as not set
    (only the notebook that needs the app stops, and says what to create)."""
    client_id, secret = get(id_name), get(secret_name)
    if optional and any(value and any(mark in value for mark in _PLACEHOLDER_MARKS) for value in (client_id, secret)):
        return None
    if client_id is None and secret is None:
        return None
    if client_id is None:
        raise ConfigurationError(f"{secret_name} is set but {id_name} is not: set both, or neither.")
    if secret is None and secret_required:
        raise ConfigurationError(f"{id_name} is set but {secret_name} is not: set both, or neither.")
    for name in (id_name, secret_name):
        value = get(name)
        if value and any(mark in value for mark in _PLACEHOLDER_MARKS):
            raise ConfigurationError(
                f"{name} still holds the placeholder from .env.example: replace it with the "
                "value from the app's General tab in Okta."
            )
    return ClientCredentials(client_id, secret)
