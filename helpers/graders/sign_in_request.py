"""The rows about what a learner's sign-in sends: the PKCE pair and the authorization URL.

Pure checks, no server: :func:`pair_row` calls ``make_pkce_pair`` twice and names the usual
mistakes (padding, hex, plain, standard base64, a short or repeated verifier); :func:`url_row`
reads the URL ``authorization_url`` builds for a known ``state`` and challenge.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .report import Row
from .sign_in_calls import calls

__all__ = ["challenge_of", "pair_row", "url_row"]

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def challenge_of(verifier: str) -> str:
    """The S256 code challenge of `verifier` (RFC 7636): BASE64URL(SHA256(verifier)), no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def pair_row(make_pkce_pair: Callable[[], Any]) -> Row:
    """Two calls of the learner's make_pkce_pair: the verifier's form, the S256 challenge, fresh each time."""
    name, expected = "PKCE pair", "random verifier, S256 challenge"
    outcome = calls(make_pkce_pair)
    second = calls(make_pkce_pair)
    pairs = [outcome.value, second.value]
    if outcome.error or not all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
        got = outcome.error or f"returned {type(outcome.value).__name__}, not (verifier, challenge)"
        return Row(name, expected, got, False, why="make_pkce_pair must return a pair of strings: (verifier, challenge).",
                   fix="return verifier, challenge")
    verifier, challenge = pairs[0]
    right = challenge_of(verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    problems = [
        (not _VERIFIER.fullmatch(verifier), f"verifier of {len(verifier)} chars or outside A-Z a-z 0-9 -._~",
         "RFC 7636 wants a verifier of 43 to 128 unreserved characters, with enough randomness that nobody can guess it.",
         "make it with secrets.token_urlsafe(64) (86 characters)."),
        (pairs[0][0] == pairs[1][0], "the same verifier twice",
         "a verifier must be new and random for every sign-in, or a stolen code comes with a known verifier.",
         "make it with secrets.token_urlsafe(...) inside make_pkce_pair."),
        (challenge == verifier, "challenge = verifier (the 'plain' method)",
         "with plain the challenge in the URL IS the verifier, so whoever sees the URL can redeem a stolen code.",
         "hash it: SHA-256 of the verifier's ASCII bytes, then base64url."),
        (challenge == digest.hex(), "challenge is a hex digest",
         "S256 encodes the SHA-256 digest's bytes with base64url, not as hex: Okta's hash will not match.",
         "base64.urlsafe_b64encode(hashlib.sha256(...).digest())."),
        (challenge == right + "=", "challenge ends with '=' padding",
         "S256 is BASE64URL without padding (RFC 7636 appendix A): with '=' the hashes never match.",
         "strip the padding: .rstrip(b'=')."),
        (challenge != right and challenge == base64.b64encode(digest).decode().rstrip("="),
         "challenge in standard base64 (+ and /)",
         "S256 uses the URL-safe alphabet (- and _), not + and /.", "use base64.urlsafe_b64encode."),
        (challenge != right, "challenge is not BASE64URL(SHA256(verifier))",
         "the challenge must be the verifier's SHA-256 digest, base64url-encoded without padding.",
         "base64.urlsafe_b64encode(hashlib.sha256(verifier.encode('ascii')).digest()).rstrip(b'=')."),
    ]
    for wrong, got, why, fix in problems:
        if wrong:
            return Row(name, expected, got, False, why=why, fix=fix)
    return Row(name, expected, f"verifier {len(verifier)} chars, challenge {len(challenge)}", True)


def url_row(authorization_url: Callable[..., str], app: Any) -> Row:
    """The learner's authorization URL for a known state and challenge: every parameter, exactly."""
    name, expected = "authorize URL", "the 7 parameters, S256"
    state, challenge = "grader-state-" + secrets.token_urlsafe(8), challenge_of(secrets.token_urlsafe(64))
    outcome = calls(authorization_url, app, state, challenge)
    if outcome.error or not isinstance(outcome.value, str):
        return Row(name, expected, outcome.error or f"returned {type(outcome.value).__name__}", False,
                   why="authorization_url must return the URL (a string) the browser is sent to.",
                   fix="build it with urllib.parse.urlencode(...) after the authorization endpoint and '?'.")
    parts = urlsplit(outcome.value)
    query = dict(parse_qsl(parts.query))
    wanted = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri,
              "scope": app.scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    wrong = [key for key, value in wanted.items() if query.get(key) != value]
    if urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) != app.authorization_endpoint:
        wrong.insert(0, "the endpoint")
    if wrong:
        return Row(name, expected, "missing or different: " + ", ".join(wrong), False,
                   why="the authorization request needs each of these, exactly: the server refuses a sign-in "
                   "without an S256 challenge, and state is how you later recognise your own redirect.",
                   fix="urlencode a dict with response_type='code', client_id, redirect_uri, scope (from app), state, "
                   "code_challenge and code_challenge_method='S256'.")
    return Row(name, expected, "the 7 parameters, S256", True)
