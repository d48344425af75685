"""What the setup checks share: one run's settings and answers, HTTP with short timeouts, and
readable descriptions of what went wrong on the network.

Every network failure (unreachable host, timeout, an answer that is not JSON, a malformed URL)
becomes a :class:`Problem` with a message, which the check turns into a failed result: the
checks never raise. Okta answers errors in two shapes, and both are read: the OAuth shape
``{"error", "error_description"}`` (token, authorize, introspect...) and the management
shape ``{"errorCode", "errorSummary", ...}`` (``E0000007`` for an unknown authorization server).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from helpers.settings import Settings
from helpers.urls import is_https, is_unambiguous

from . import diagnosis as fixes
from .results import CheckResult, Status

__all__ = ["Problem", "Run", "error_of", "json_object", "json_or_none", "network_fix", "page_text"]


class Problem(Exception):
    """A network answer that is not what a check needs; the message says what was seen."""


@dataclass
class Run:
    settings: Settings
    scopes: tuple[str, ...]
    redirect_uri: str
    timeout: float
    http: requests.Session
    results: list[CheckResult] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # scope -> access token (never shown)
    sign_in: Any = None  # authorize URL -> redirect URL (a person, or the local test user)

    def status_of(self, name: str) -> Status | None:
        return next((r.status for r in self.results if r.name == name), None)

    def blocker(self, needs: Sequence[str]) -> str | None:
        """The failed check behind the first needed check that did not pass (following skips)."""
        name = next((n for n in needs if self.status_of(n) in (Status.FAIL, Status.SKIPPED)), None)
        while name is not None and self.status_of(name) is Status.SKIPPED:
            name = next(r.blocked_by for r in self.results if r.name == name)
        return name

    # -- HTTP ----------------------------------------------------------------------------

    def credential_url(self, url: Any, what: str) -> str:
        """``url`` if a secret may be sent there: https on the issuer's own host, read unambiguously."""
        issuer = urlsplit(self.settings.issuer or "")
        target = urlsplit(url) if isinstance(url, str) else None
        if (target is None or not is_https(url) or not is_unambiguous(url)
                or (target.scheme.lower(), target.netloc.lower()) != (issuer.scheme.lower(), issuer.netloc.lower())):
            raise Problem(f"the metadata's {what} {url!r} is not https on the issuer's host, so no client secret "
                          "is sent there; Okta's endpoints all are: check OAUTH_ISSUER")
        return url

    def get_json(self, url: str, what: str) -> dict[str, Any]:
        response = self.request("GET", url, what, headers={"Accept": "application/json"})
        if response.status_code == 404:
            raise Problem(f"{what} answered HTTP 404 at {url}{okta_error_summary(response)}")
        if response.status_code != 200:
            raise Problem(f"{what} answered HTTP {response.status_code} at {url}")
        return json_object(response, f"{what} at {url}")

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """One request; a redirect is an answer, never followed (Okta's endpoints answer directly,
        and a redirect could take the request, or the next one's credentials, elsewhere)."""
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.http.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise Problem(f"{what} did not answer within {self.timeout:g} s ({url})") from None
        except requests.ConnectionError as exc:
            raise Problem(f"could not connect to {host(url)} for the {what}: {connection_reason(exc)}") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, ValueError):
            raise Problem(f"{url!r} is not a usable URL for the {what}") from None
        except requests.RequestException as exc:
            raise Problem(f"the {what} request failed ({type(exc).__name__})") from None


def json_object(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no Content-Type").split(";")[0]
        raise Problem(f"the {what} is not JSON (HTTP {response.status_code}, {kind})") from None
    if not isinstance(document, dict):
        raise Problem(f"the {what} is JSON but not an object")
    return document


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def okta_error_summary(response: requests.Response) -> str:
    body = json_or_none(response)
    if isinstance(body, dict) and isinstance(body.get("errorSummary"), str):
        return f" (\"{body['errorSummary']}\"): is the authorization server id in OAUTH_ISSUER right?"
    return ": is OAUTH_ISSUER right?"


def page_text(page: str) -> str:
    """The readable text of an HTML error page: the error paragraph if there is one."""
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
    text = match.group(1) if match else re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve; check the domain in OAUTH_ISSUER"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused; is the server running, and is the port right?"
    if "SSL" in text or "certificate" in text.lower():
        return "the TLS handshake failed (certificate?)"
    return "the network did not let the connection through"


def network_fix(name: str) -> str:
    if name in ("metadata", "issuer"):
        return "Check OAUTH_ISSUER and that this machine can reach it (VPN, proxy, firewall). " + fixes.ISSUER_FIX
    return "Check that this machine can reach the authorization server (VPN, proxy, firewall), then run the checks again."


def error_of(body: Any) -> tuple[str, str] | None:
    """``(error, description)`` from either of Okta's error shapes, or ``None``."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), str):
        return body["error"], str(body.get("error_description", ""))
    if isinstance(body.get("errorCode"), str):
        return body["errorCode"], str(body.get("errorSummary", ""))
    return None
