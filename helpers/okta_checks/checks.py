"""The setup checks: does the authorization server look the way Okta's console should have set it up?

:func:`run_checks` asks the authorization server named in the settings (real Okta, or
the local one) what a client and the calculator will ask it, in order, and returns a
:class:`~helpers.okta_checks.results.CheckReport`. A check that depends on an earlier one
that failed is ``SKIPPED`` and names it. Every network call has a short timeout, and every
failure (unreachable host, timeout, an answer that is not JSON, a malformed URL) becomes a
failed check with a message, never an exception.

No secret and no whole token ever goes into a result.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import html
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from helpers.local_okta.tenant import DEFAULT_REDIRECT_URIS
from helpers.settings import Settings
from helpers.verification import Protection

from . import diagnosis as fixes
from .results import CheckReport, CheckResult, Status

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "DEFAULT_TIMEOUT",
    "REQUIRED_GRANT_TYPES",
    "run_checks",
]

#: The custom scopes the calculator's tools need.
DEFAULT_SCOPES = ("calculator.add", "calculator.subtract")
#: Grants the tutorial uses: services (client credentials), the gateway signing users in
#: (authorization code) and keeping them signed in (refresh token).
REQUIRED_GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")
#: Where the gateway of notebook 06 receives the authorization code (the local tenant
#: registers it for its web app). Pass ``redirect_uri=`` when your gateway uses another.
DEFAULT_REDIRECT_URI = DEFAULT_REDIRECT_URIS[0]
#: Seconds to wait for any one answer: a healthy Okta answers in well under a second.
DEFAULT_TIMEOUT = 5.0

# A fixed PKCE verifier: the redirect check never exchanges a code, but some apps require a
# challenge before Okta even looks at the redirect URI.
_PKCE_VERIFIER = "okta-setup-checks-never-exchanged-verifier-0123456789"
_PKCE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(_PKCE_VERIFIER.encode()).digest()).rstrip(b"=").decode()

# FastMCP's verifier logs every refusal (WARNING for a wrong audience); the checks report
# refusals themselves, so its messages must not reach a terminal or a notebook cell.
_QUIET = logging.getLogger("helpers.okta_checks.verifier")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class _Problem(Exception):
    """A network answer that is not what a check needs; the message says what was seen."""


@dataclass
class _Run:
    settings: Settings
    scopes: tuple[str, ...]
    redirect_uri: str
    timeout: float
    http: requests.Session
    results: list[CheckResult] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> access token (never shown)

    def status_of(self, name: str) -> Status | None:
        return next((r.status for r in self.results if r.name == name), None)

    def blocker(self, needs: Sequence[str]) -> str | None:
        """The failed check behind the first needed check that did not pass (following skips)."""
        name = next((n for n in needs if self.status_of(n) in (Status.FAIL, Status.SKIPPED)), None)
        while name is not None and self.status_of(name) is Status.SKIPPED:
            name = next(r.blocked_by for r in self.results if r.name == name)
        return name

    # -- HTTP ----------------------------------------------------------------------------

    def get_json(self, url: str, what: str) -> dict[str, Any]:
        response = self.request("GET", url, what, headers={"Accept": "application/json"})
        if response.status_code == 404:
            raise _Problem(f"{what} answered HTTP 404 at {url}{_okta_error_summary(response)}")
        if response.status_code != 200:
            raise _Problem(f"{what} answered HTTP {response.status_code} at {url}")
        return _json_object(response, f"{what} at {url}")

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise _Problem(f"{what} did not answer within {self.timeout:g} s ({url})") from None
        except requests.ConnectionError as exc:
            raise _Problem(f"could not connect to {_host(url)} for the {what}: {_connection_reason(exc)}") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, ValueError):
            raise _Problem(f"{url!r} is not a usable URL for the {what}") from None
        except requests.RequestException as exc:
            raise _Problem(f"the {what} request failed ({type(exc).__name__})") from None


def run_checks(
    settings: Settings,
    *,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    timeout: float = DEFAULT_TIMEOUT,
) -> CheckReport:
    """Check the authorization server in ``settings`` and return every check's result.

    ``scopes``: the custom scopes a client-credentials token must be available for, one
    request per scope. ``redirect_uri``: the URI the gateway sends users back to (checked
    against the web app, ``settings.web_client``). ``timeout``: seconds per request.
    Never raises for a network or configuration problem: that is a failed check.
    """
    run = _Run(settings, tuple(scopes), redirect_uri, timeout, requests.Session())
    steps: list[tuple[str, str, Sequence[str], Callable[[_Run], tuple]]] = [
        ("issuer", "Issuer is a custom authorization server", (), _check_issuer),
        ("metadata", "Metadata document is reachable", ("issuer",), _check_metadata),
        ("metadata_issuer", "Metadata issuer equals OAUTH_ISSUER", ("metadata",), _check_metadata_issuer),
        ("jwks_uri", "OAUTH_JWKS_URI matches the metadata", ("metadata",), _check_jwks_uri),
        ("jwks", "JWKS has RS256 signing keys", ("metadata",), _check_jwks),
        ("grant_types", "Grant types supported", ("metadata",), _check_grant_types),
        ("scopes", "Custom scopes published", ("metadata",), _check_scopes),
    ]
    for scope in run.scopes:
        steps.append((f"token:{scope}", f"Client-credentials token for {scope}", ("metadata",), _token_check(scope)))
    steps += [
        ("token_claims", "Token claims iss, aud, scp", (), _check_token_claims),
        ("verification", "Token passes the server's verification", (), _check_verification),
        ("redirect_uri", "Redirect URI is registered", ("metadata",), _check_redirect_uri),
    ]
    with run.http:
        for name, title, needs, check in steps:
            if name in ("token_claims", "verification"):
                needs = _token_needs(run)
            blocked = run.blocker(needs)
            if blocked is not None:
                failed_title = next(r.title for r in run.results if r.name == blocked)
                run.results.append(CheckResult(
                    name, title, Status.SKIPPED, f"needs '{failed_title}', which failed", blocked_by=blocked,
                ))
                continue
            try:
                status, seen, fix = check(run)
            except _Problem as problem:
                status, seen, fix = Status.FAIL, str(problem), _network_fix(name)
            except Exception as exc:  # an answer no check foresaw: still a result, never a traceback
                status, seen, fix = Status.FAIL, f"unexpected {type(exc).__name__} while checking", _network_fix(name)
            run.results.append(CheckResult(name, title, status, seen, fix if status is not Status.PASS else None))
    return CheckReport(run.results)


def _token_needs(run: _Run) -> tuple[str, ...]:
    """The claims and verification checks need one token; with none, the first failed token check blocks them."""
    if run.tokens:
        return ()
    names = [f"token:{scope}" for scope in run.scopes]
    return tuple(names) if names else ("metadata",)


# -- the checks: each returns (status, seen, fix) -----------------------------------------


def _check_issuer(run: _Run):
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


def _check_metadata(run: _Run):
    url = f"{run.settings.issuer}/.well-known/oauth-authorization-server"
    run.metadata = run.get_json(url, "metadata document")
    missing = [n for n in ("issuer", "token_endpoint", "authorization_endpoint", "jwks_uri")
               if not isinstance(run.metadata.get(n), str) or not run.metadata.get(n)]
    if missing:
        return Status.FAIL, f"the metadata at {url} lacks {', '.join(missing)}", fixes.ISSUER_FIX
    return Status.PASS, "JSON at OAUTH_ISSUER + /.well-known/oauth-authorization-server", None


def _check_metadata_issuer(run: _Run):
    published, configured = run.metadata["issuer"], run.settings.issuer
    if published != configured:
        return Status.FAIL, (
            f"the metadata says issuer {published!r}, OAUTH_ISSUER is {configured!r}; tokens carry the "
            "metadata's, so the server would refuse them all"
        ), fixes.ISSUER_FIX
    return Status.PASS, "identical, character for character", None


def _check_jwks_uri(run: _Run):
    published, configured = run.metadata["jwks_uri"], run.settings.jwks_uri
    if not configured:
        return Status.PASS, "not set in .env; the server reads it from the metadata", None
    if configured != published:
        return Status.FAIL, (
            f"OAUTH_JWKS_URI is {configured}, the metadata says {published}: the server would look "
            "for the signing keys in the wrong place and refuse every token"
        ), fixes.JWKS_URI_FIX
    return Status.PASS, "equal to the metadata's jwks_uri", None


def _check_jwks(run: _Run):
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


def _check_grant_types(run: _Run):
    supported = run.metadata.get("grant_types_supported")
    if not isinstance(supported, list):
        return Status.WARN, "the metadata does not list grant_types_supported", \
            "An Okta custom authorization server lists them; check OAUTH_ISSUER. " + fixes.ISSUER_FIX
    missing = [grant for grant in REQUIRED_GRANT_TYPES if grant not in supported]
    if missing:
        return Status.FAIL, f"missing: {', '.join(missing)}", (
            "An Okta custom authorization server supports all three; check OAUTH_ISSUER. "
            + fixes.ISSUER_FIX + " Each app's own grants are set under Applications > Applications > "
            "(your app) > General > Grant type."
        )
    return Status.PASS, ", ".join(REQUIRED_GRANT_TYPES), None


def _check_scopes(run: _Run):
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


def _token_check(scope: str) -> Callable[[_Run], tuple]:
    def check(run: _Run):
        client = run.settings.m2m_client
        if client is None or not client.client_secret:
            return Status.FAIL, "M2M_CLIENT_ID and M2M_CLIENT_SECRET are not set", (
                "Create the service app (Applications > Applications > Create App Integration > API "
                "Services), then " + fixes.CLIENT_SECRET_FIX
            )
        response = run.request(
            "POST",
            run.metadata["token_endpoint"],
            "token endpoint",
            auth=(client.client_id, client.client_secret),
            data={"grant_type": "client_credentials", "scope": scope},
            headers={"Accept": "application/json"},
        )
        body = _json_or_none(response)
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            run.tokens[scope] = body["access_token"]
            expires = body.get("expires_in")
            lifetime = f", expires in {expires} s" if isinstance(expires, int) else ""
            return Status.PASS, f"HTTP 200, {body.get('token_type', 'a')} token{lifetime}", None
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return Status.FAIL, (
                f"HTTP {response.status_code} from the token endpoint, not an OAuth answer"
            ), "Check that OAUTH_ISSUER is your custom authorization server. " + fixes.ISSUER_FIX
        error, description = body["error"], str(body.get("error_description", ""))
        found = fixes.token_error(error, description, scope)
        return Status.FAIL, f"HTTP {response.status_code} {error} \"{description}\": {found.cause}", found.fix

    return check


def _check_token_claims(run: _Run):
    settings, problems, fix = run.settings, [], None
    for scope, token in run.tokens.items():
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return Status.FAIL, f"the {scope} token is not a JWT", \
                "Okta custom authorization servers issue JWT access tokens. " + fixes.ISSUER_FIX
        aud = claims.get("aud")
        if not (aud == settings.audience or (isinstance(aud, list) and settings.audience in aud)):
            problems.append(f"aud is {aud!r} but OAUTH_AUDIENCE is {settings.audience!r}")
            fix = fix or fixes.AUDIENCE_FIX
        if claims.get("iss") != settings.issuer:
            problems.append(f"iss is {claims.get('iss')!r}, not OAUTH_ISSUER")
            fix = fix or fixes.ISSUER_FIX
        granted = claims.get("scp")
        if not isinstance(granted, list) or sorted(granted) != [scope]:
            problems.append(f"scp is {granted!r}, not [{scope!r}]")
            fix = fix or fixes.RULE_SCOPES_FIX.format(scope=scope)
        if problems:
            seen = "; ".join(dict.fromkeys(problems))
            return Status.FAIL, f"{seen}: the server would refuse every token", fix
    return Status.PASS, "iss = OAUTH_ISSUER, aud = OAUTH_AUDIENCE, scp = the requested scope", None


def _check_verification(run: _Run):
    settings = run.settings
    jwks_uri = settings.jwks_uri or run.metadata.get("jwks_uri")
    if not settings.audience:
        return Status.FAIL, "no audience is configured, so the server could verify nothing", \
            "Set OAUTH_AUDIENCE. " + fixes.AUDIENCE_FIX
    protection = Protection(
        issuer=settings.issuer, audience=settings.audience, jwks_uri=jwks_uri,
        verify_timeout_seconds=run.timeout,
    )
    accepted = _verify_all(protection, list(run.tokens.values()))
    for (scope, token), ok in zip(run.tokens.items(), accepted):
        if not ok:
            reason, fix = _why_refused(run, token, jwks_uri)
            return Status.FAIL, f"the {scope} token was refused: {reason}", fix
    return Status.PASS, "accepted: signature, iss, aud, exp and iat all check out", None


def _check_redirect_uri(run: _Run):
    web = run.settings.web_client
    uri = run.redirect_uri
    if web is None:
        return Status.WARN, "CLIENT_ID is not set, so the web app's redirect URIs cannot be checked", \
            fixes.WEB_CLIENT_ID_FIX
    response = run.request(
        "GET",
        run.metadata["authorization_endpoint"],
        "authorize endpoint",
        params={
            "client_id": web.client_id, "response_type": "code", "scope": "openid", "redirect_uri": uri,
            "state": "okta-setup-check", "code_challenge": _PKCE_CHALLENGE, "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    location = response.headers.get("Location", "")
    if response.is_redirect and location.startswith(uri):
        return Status.PASS, f"{uri}: Okta redirects back to it", None
    if response.is_redirect or response.status_code == 200:
        page = _page_text(response.text) if response.status_code == 200 else ""
        if "redirect_uri" in page and "redirect URI" in page:
            return Status.FAIL, f"{uri}: an error page: \"{page[:160]}\"", fixes.REDIRECT_URI_FIX.format(redirect_uri=uri)
        return Status.PASS, f"{uri}: accepted, the sign-in page follows", None
    page = _page_text(response.text)
    if "client_id" in page:
        return Status.FAIL, f"HTTP {response.status_code}, no redirect: \"{page[:160]}\"", fixes.WEB_CLIENT_ID_FIX
    if "redirect" in page.lower():
        return Status.FAIL, (
            f"{uri}: HTTP {response.status_code} error page, no redirect: \"{page[:160]}\""
        ), fixes.REDIRECT_URI_FIX.format(redirect_uri=uri)
    return Status.FAIL, f"HTTP {response.status_code} from the authorize endpoint: \"{page[:160]}\"", \
        f"Check the web app under {fixes.WEB_APP} > General."


# -- helpers --------------------------------------------------------------------------------


def _verify_all(protection: Protection, tokens: list[str]) -> list[bool]:
    """Run the server's own verifier on each token (in a worker thread with its own loop, so
    this works from a terminal and from a notebook cell whose loop is already running)."""
    verifier = protection.verifier()
    verifier.logger = _QUIET

    async def verify() -> list[bool]:
        return [await verifier.verify_token(token) is not None for token in tokens]

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, verify()).result()


def _why_refused(run: _Run, token: str, jwks_uri: str) -> tuple[str, str]:
    """The likeliest reason the verifier refused ``token``, and its fix."""
    settings = run.settings
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return "it is not a JWT", "Okta custom authorization servers issue JWT access tokens. " + fixes.ISSUER_FIX
    try:
        keys = run.get_json(jwks_uri, "JWKS").get("keys") or []
    except _Problem as problem:
        return f"the JWKS could not be read ({problem})", fixes.JWKS_URI_FIX
    if kid not in [k.get("kid") for k in keys if isinstance(k, dict)]:
        return f"its signing key is not in the JWKS at {jwks_uri}", fixes.JWKS_URI_FIX
    aud = claims.get("aud")
    if not (aud == settings.audience or (isinstance(aud, list) and settings.audience in aud)):
        return "its aud is not OAUTH_AUDIENCE", fixes.AUDIENCE_FIX
    if claims.get("iss") != settings.issuer:
        return "its iss is not OAUTH_ISSUER", fixes.ISSUER_FIX
    return "see helpers.verification for the checks (exp, iat, RS256)", (
        "Check the clock of this machine (tokens are checked for exp and iat) and the settings above."
    )


def _json_object(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no Content-Type").split(";")[0]
        raise _Problem(f"the {what} is not JSON (HTTP {response.status_code}, {kind})") from None
    if not isinstance(document, dict):
        raise _Problem(f"the {what} is JSON but not an object")
    return document


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _okta_error_summary(response: requests.Response) -> str:
    body = _json_or_none(response)
    if isinstance(body, dict) and isinstance(body.get("errorSummary"), str):
        return f" (\"{body['errorSummary']}\"): is the authorization server id in OAUTH_ISSUER right?"
    return ": is OAUTH_ISSUER right?"


def _page_text(page: str) -> str:
    """The readable text of an HTML error page: the error paragraph if there is one."""
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
    text = match.group(1) if match else re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve; check the domain in OAUTH_ISSUER"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused; is the server running, and is the port right?"
    if "SSL" in text or "certificate" in text.lower():
        return "the TLS handshake failed (certificate?)"
    return "the network did not let the connection through"


def _network_fix(name: str) -> str:
    if name in ("metadata", "issuer"):
        return "Check OAUTH_ISSUER and that this machine can reach it (VPN, proxy, firewall). " + fixes.ISSUER_FIX
    return "Check that this machine can reach the authorization server (VPN, proxy, firewall), then run the checks again."
