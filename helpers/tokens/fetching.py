"""The three ways Okta's calculator MCP guide gets a client-credentials token, one small function each.

All three send the same HTTP request to the token endpoint and return the same
:class:`TokenResponse`:

1. :func:`fetch_token_with_curl`: the command-line tool, the way the guide shows it first;
   :func:`curl_command` builds the command and shows it with the secret masked.
2. :func:`fetch_token_with_requests`: ``requests`` with an ``Authorization: Basic`` header
   built by hand, so you can see exactly what goes on the wire.
3. :func:`fetch_token_with_requests_oauthlib`: ``requests-oauthlib``'s ``OAuth2Session`` with
   oauthlib's ``BackendApplicationClient`` (the client-credentials grant), which builds the
   request for you.

The request (RFC 6749, section 4.4)::

    POST {issuer}/v1/token
    Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))
    Content-Type: application/x-www-form-urlencoded

    grant_type=client_credentials&scope=calculator.add calculator.subtract

An error answer from the token endpoint (Okta's ``{"error", "error_description"}``) raises
:class:`TokenRequestError`; a token endpoint that cannot be reached raises
:class:`TokenEndpointUnreachable`. Neither message ever contains the secret.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from helpers.display import mask_secret, mask_token
from helpers.settings import ClientCredentials

__all__ = [
    "CurlCommand",
    "TokenEndpointUnreachable",
    "TokenError",
    "TokenRequestError",
    "TokenResponse",
    "allow_http_for_loopback",
    "basic_credentials",
    "curl_available",
    "curl_command",
    "fetch_token_with_curl",
    "fetch_token_with_requests",
    "fetch_token_with_requests_oauthlib",
    "is_loopback_url",
]

DEFAULT_TIMEOUT = 10.0

#: What to check for each error the token endpoint can answer (Okta's error codes).
ERROR_HINTS = {
    "invalid_client": "check the client id and secret (the app's General tab in Okta, or M2M_CLIENT_ID "
    "and M2M_CLIENT_SECRET in .env)",
    "invalid_scope": "check the scope's spelling, and that the authorization server defines it "
    "(Security > API > Authorization Servers > Scopes)",
    "access_denied": "an access policy rule must grant this app these scopes with the Client "
    "Credentials grant (Security > API > Authorization Servers > Access Policies)",
    "unauthorized_client": "enable the Client Credentials grant on the app (an API Services app has it)",
    "unsupported_grant_type": "the authorization server does not offer this grant",
    "invalid_request": "the request itself is malformed: compare it with the cURL command",
}


class TokenError(RuntimeError):
    """Getting or using an access token failed; the message says what to check."""


class TokenRequestError(TokenError):
    """The token endpoint answered with an error (HTTP status, Okta's ``error`` and ``error_description``)."""

    def __init__(self, status: int, error: str | None, error_description: str | None, token_url: str) -> None:
        self.status = status
        self.error = error
        self.error_description = error_description
        self.token_url = token_url
        what = error or "an answer that is not an OAuth error"
        message = f"The token endpoint answered HTTP {status} {what}"
        if error_description:
            message += f": {error_description}"
        hint = ERROR_HINTS.get(error or "")
        super().__init__(message + (f" (Fix: {hint}.)" if hint else ""))

    @classmethod
    def from_body(cls, status: int, body: str, token_url: str) -> TokenRequestError:
        """Read Okta's JSON error body; anything else becomes a short description."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            return cls(status, payload["error"], payload.get("error_description"), token_url)
        snippet = " ".join(body.split())[:80]
        return cls(status, None, f"not JSON: {snippet!r}" if snippet else "empty body", token_url)


class TokenEndpointUnreachable(TokenError):
    """No answer from the token endpoint (refused, unresolvable, timed out, TLS failure)."""

    def __init__(self, token_url: str, reason: str) -> None:
        self.token_url = token_url
        self.reason = reason
        super().__init__(
            f"Could not reach the token endpoint {token_url} ({reason}). Check the issuer URL, "
            "that the authorization server is running, and your network."
        )


@dataclass(frozen=True, repr=False)
class TokenResponse:
    """A successful token response. ``repr`` masks the token; ``raw`` is the JSON as received."""

    access_token: str
    token_type: str
    expires_in: int | None
    scope: str
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The granted scopes, sorted."""
        return tuple(sorted(self.scope.split()))

    @classmethod
    def from_json(cls, payload: Any, token_url: str, status: int = 200) -> TokenResponse:
        """Check and read a token response body (a parsed JSON object)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise TokenRequestError(status, None, "a success status without an access_token", token_url)
        expires_in = payload.get("expires_in")
        return cls(
            access_token=payload["access_token"],
            token_type=str(payload.get("token_type", "")),
            expires_in=_seconds(expires_in),
            scope=str(payload.get("scope", "")),
            raw=dict(payload),
        )

    def __repr__(self) -> str:
        return (
            f"TokenResponse(access_token={mask_token(self.access_token)!r}, token_type={self.token_type!r}, "
            f"expires_in={self.expires_in!r}, scope={self.scope!r})"
        )


def _seconds(value: Any) -> int | None:
    """``expires_in`` as whole seconds (Okta sends a number; some servers send a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _scope_text(scopes: str | Iterable[str]) -> str:
    return scopes if isinstance(scopes, str) else " ".join(scopes)


def _form(scopes: str | Iterable[str]) -> dict[str, str]:
    form = {"grant_type": "client_credentials"}
    scope = _scope_text(scopes)
    if scope:
        form["scope"] = scope
    return form


def basic_credentials(client_id: str, client_secret: str) -> tuple[str, str]:
    """The user name and password for HTTP Basic client authentication (RFC 6749, section 2.3.1).

    Both are form-urlencoded *before* they are joined with ``:`` and Base64-encoded, so a
    secret holding ``:``, ``%``, ``+`` or a space survives. Okta's ids and secrets use only
    letters, digits, ``-`` and ``_``, which encoding leaves unchanged; other servers' may not.
    A space becomes ``%20``, which every form decoder reads back (``+`` is read by some only).
    """
    return quote(client_id, safe=""), quote(client_secret, safe="")


def _require_secret(client: ClientCredentials) -> str:
    if not client.client_secret:
        raise TokenError(
            f"The client {client.client_id} has no client secret; the client-credentials grant needs one."
        )
    return client.client_secret


# -- 1. cURL ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CurlCommand:
    """A cURL command for the token endpoint.

    ``argv`` is what runs: it holds no secret, because ``--config -`` makes cURL read
    ``user = "id:secret"`` from standard input (``stdin``) instead of the command line,
    where other users of the machine could see it (``ps``). :meth:`display` shows the
    same command as you would type it in a shell, safely: ``printf`` (built into the
    shell, so it is no process of its own) pipes that line to cURL from environment
    variables, so the secret is neither on a command line nor in your shell history.
    :meth:`display_stdin` shows what the helper pipes, with the secret masked.
    """

    argv: tuple[str, ...]
    stdin: str
    client_id: str
    client_secret: str

    def display(self, id_variable: str = "M2M_CLIENT_ID", secret_variable: str = "M2M_CLIENT_SECRET") -> str:
        """The command to type in a shell, one option per line; id and secret come from environment variables.

        Load them first, e.g. ``set -a; source .env; set +a``. (This form skips the
        urlencoding of :func:`basic_credentials`, a no-op for Okta's ids and secrets.)
        """
        feed = f"printf 'user = \"%s:%s\"\\n' \"${id_variable}\" \"${secret_variable}\" |"
        parts, args, i = [f"{feed} curl"], list(self.argv[1:]), 0
        while i < len(args):
            option = args[i]
            if option == "--config":  # "-": the user line comes from standard input
                parts.append(f"--config {args[i + 1]}")
                i += 2
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                parts.append(f"{option} {shlex.quote(args[i + 1])}")
                i += 2
            else:  # a flag without a value stays on the line before
                parts[-1] += f" {option}"
                i += 1
        return " \\\n  ".join(parts)

    def display_stdin(self) -> str:
        """What the helper writes to cURL's standard input, with the secret masked."""
        user_name, secret = basic_credentials(self.client_id, self.client_secret)
        return f'user = "{user_name}:{mask_secret(secret)}"'

    def __repr__(self) -> str:
        return f"CurlCommand({self.display()!r})"


def curl_command(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> CurlCommand:
    """Build the cURL command that asks ``token_url`` for a client-credentials token."""
    secret = _require_secret(client)
    quoted = ":".join(basic_credentials(client.client_id, secret)).replace("\\", "\\\\").replace('"', '\\"')
    argv = (
        "curl",
        "--silent", "--show-error",
        "--request", "POST",
        "--url", token_url,
        "--header", "Accept: application/json",
        "--header", "Content-Type: application/x-www-form-urlencoded",
        "--config", "-",
        "--data", urlencode(_form(scopes)),
        "--max-time", f"{timeout:g}",
        "--write-out", "\\n%{http_code}",
    )
    return CurlCommand(argv=argv, stdin=f'user = "{quoted}"\n', client_id=client.client_id, client_secret=secret)


def curl_available() -> bool:
    """Whether the ``curl`` program is installed here."""
    return shutil.which("curl") is not None


def fetch_token_with_curl(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> TokenResponse:
    """Run :func:`curl_command` and read its answer (raises :class:`TokenError` without ``curl``)."""
    command = curl_command(token_url, client, scopes, timeout=timeout)
    if not curl_available():
        raise TokenError("curl is not installed here; the command it would run is:\n" + command.display())
    result = subprocess.run(
        command.argv, input=command.stdin, capture_output=True, text=True, timeout=timeout + 5, check=False
    )
    if result.returncode != 0:  # 6: cannot resolve, 7: cannot connect, 28: timed out, 35/60: TLS
        reason = re.sub(r"^curl: \(\d+\) ", "", result.stderr.strip()) or f"curl exit code {result.returncode}"
        raise TokenEndpointUnreachable(token_url, reason)
    body, _, status_line = result.stdout.rpartition("\n")
    status = int(status_line) if status_line.isdigit() else 0
    if status != 200:
        raise TokenRequestError.from_body(status, body, token_url)
    try:
        payload = json.loads(body)
    except ValueError:
        raise TokenRequestError.from_body(status, body, token_url) from None
    return TokenResponse.from_json(payload, token_url)


# -- 2. requests with an HTTP Basic header ----------------------------------------------------


def fetch_token_with_requests(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> TokenResponse:
    """POST the client-credentials form with ``Authorization: Basic base64(id:secret)``."""
    secret = _require_secret(client)
    user_name, password = basic_credentials(client.client_id, secret)  # urlencoded (RFC 6749 2.3.1)
    basic = base64.b64encode(f"{user_name}:{password}".encode()).decode()
    try:
        response = requests.post(
            token_url,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data=_form(scopes),  # sent as application/x-www-form-urlencoded
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TokenEndpointUnreachable(token_url, _describe(exc)) from None
    return _read_response(response, token_url)


def _read_response(response: requests.Response, token_url: str) -> TokenResponse:
    if response.status_code != 200:
        raise TokenRequestError.from_body(response.status_code, response.text, token_url)
    try:
        payload = response.json()
    except ValueError:
        raise TokenRequestError.from_body(response.status_code, response.text, token_url) from None
    return TokenResponse.from_json(payload, token_url)


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed: nothing answers at that address"
    return type(exc).__name__


# -- 3. requests-oauthlib's BackendApplicationClient -------------------------------------------

_INSECURE_TRANSPORT = "OAUTHLIB_INSECURE_TRANSPORT"
_insecure_transport_lock = threading.RLock()


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def allow_http_for_loopback(token_url: str) -> Iterator[None]:
    """Let oauthlib use ``http://`` for a token URL on this machine, for this block only.

    oauthlib refuses plain HTTP (``InsecureTransportError``) unless the process-wide
    environment variable ``OAUTHLIB_INSECURE_TRANSPORT`` is set. Here it is set only for
    a loopback URL (where nothing crosses a network), only for the duration of the block,
    under a lock (so two threads never restore each other's value), and then restored.
    An ``https://`` URL needs nothing; ``http://`` to any other host is refused.
    """
    scheme = urlsplit(token_url).scheme
    if scheme == "https":
        yield
        return
    if scheme != "http" or not is_loopback_url(token_url):
        raise TokenError(
            f"Refusing to send client credentials to {token_url}: over plain HTTP anyone on the "
            "network can read them. Use the https:// token endpoint of your Okta authorization server."
        )
    with _insecure_transport_lock:
        previous = os.environ.get(_INSECURE_TRANSPORT)
        os.environ[_INSECURE_TRANSPORT] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_INSECURE_TRANSPORT, None)
            else:
                os.environ[_INSECURE_TRANSPORT] = previous


def fetch_token_with_requests_oauthlib(
    token_url: str, client: ClientCredentials, scopes: str | Iterable[str], *, timeout: float = DEFAULT_TIMEOUT
) -> TokenResponse:
    """Let ``OAuth2Session`` + ``BackendApplicationClient`` build and send the token request."""
    from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
    from requests_oauthlib import OAuth2Session

    secret = _require_secret(client)
    scope_list = _scope_text(scopes).split() or None
    oauth_client = BackendApplicationClient(client_id=client.client_id, scope=scope_list)
    session = OAuth2Session(client=oauth_client, scope=scope_list)
    received: dict[str, TokenResponse] = {}

    def read_answer(response: requests.Response) -> requests.Response:
        # A compliance hook sees the HTTP response before oauthlib parses it: keep Okta's
        # status and error here instead of oauthlib's generic exception classes.
        received["token"] = _read_response(response, token_url)
        return response

    session.register_compliance_hook("access_token_response", read_answer)
    try:
        with allow_http_for_loopback(token_url):
            # HTTP Basic (client_secret_basic) with the urlencoded id and secret (RFC 6749 2.3.1);
            # without auth=, requests-oauthlib would send them unencoded.
            basic = requests.auth.HTTPBasicAuth(*basic_credentials(client.client_id, secret))
            session.fetch_token(token_url=token_url, auth=basic, timeout=timeout)
    except requests.RequestException as exc:
        raise TokenEndpointUnreachable(token_url, _describe(exc)) from None
    except OAuth2Error as exc:  # a 200 answer oauthlib still refuses
        raise TokenRequestError(200, exc.error, exc.description, token_url) from None
    finally:
        session.close()
    return received["token"]
