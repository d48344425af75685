"""Safe one-line summaries of HTTP requests and answers, for the wire trace (:mod:`helpers.wire_trace`).

A drawing of the traffic is a new place a secret could leak, so nothing sensitive is kept in
the first place: every function here returns text built from a *whitelist*. A field's value is
shown only when its name is in :data:`SHOWN_VALUES` and the value looks harmless (short, plain
characters, not a JWT); any other field is named with its value hidden (``code=…``). An
``Authorization`` header becomes a word (``Bearer token``, ``Basic client credentials``).
Last, :class:`Masker` removes any JWT and any secret it was given (and the secret's
URL-encoded and base64 forms) from every piece of text, in case a whitelisted field held one.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

__all__ = ["HIDDEN", "SHOWN_VALUES", "Masker", "answer_summary", "credentials_word", "request_summary"]

HIDDEN = "…"
#: Fields whose values are shown. Everything else is shown by name only.
SHOWN_VALUES = frozenset({
    "grant_type", "response_type", "response_mode", "scope", "token_type", "token_type_hint",
    "expires_in", "code_challenge_method", "error", "prompt", "step", "decision", "active",
})
JWT = re.compile(r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}")
_PLAIN = re.compile(r"[A-Za-z0-9 _.:/+-]{0,80}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,39}")
_OPAQUE = re.compile(r"(?=[^/]*[0-9])(?=[^/]*[A-Za-z])[^/]{24,}")  # a long segment of letters and digits: an id or key
_SCHEME_WORDS = {"bearer": "Bearer token", "basic": "Basic client credentials", "dpop": "DPoP token"}
_MAX_ITEMS = 6


class Masker:
    """Removes JWTs and the given secrets (raw, URL-encoded, base64) from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret is None or secret == "":
                continue
            if not isinstance(secret, str):
                raise TypeError(f"secrets= takes strings, not {type(secret).__name__}")
            raw = secret.encode()
            encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
            forms.update([secret, quote(secret, safe=""), quote_plus(secret)])
            forms.update(form for text in encoded for form in (text, text.rstrip("=")))
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no half-masked secret

    def __call__(self, text: str) -> str:
        text = JWT.sub(HIDDEN, text)
        for form in self._forms:
            text = text.replace(form, HIDDEN)
        return text


def _value(name: str, value: object) -> str:
    """``name=value`` when the value may be shown, else ``name=…`` (an odd name is not shown either)."""
    if not _NAME.fullmatch(name):
        name = "field"
    if isinstance(value, bool):
        value = str(value).lower()
    if name in SHOWN_VALUES and isinstance(value, (str, int, float)):
        text = str(value)
        if _PLAIN.fullmatch(text) and not JWT.search(text):
            return f"{name}={text}"
    return f"{name}={HIDDEN}"


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """``a=1 b=…``, at most a few fields and then ``+N more``."""
    shown = [_value(str(name), value) for name, value in pairs]
    extra = len(shown) - _MAX_ITEMS
    return " ".join(shown[:_MAX_ITEMS]) + (f" +{extra} more" if extra > 0 else "")


def masked_target(url: str) -> str:
    """A URL's path and query with the query's values hidden: ``/callback?code=…&state=…``."""
    parts = urlsplit(url)
    path = "/".join(HIDDEN if _OPAQUE.fullmatch(segment) else segment for segment in (parts.path or "/").split("/"))
    query = parse_qsl(parts.query, keep_blank_values=True)
    shown = "&".join(_value(name, value) for name, value in query)
    return path + (f"?{shown}" if shown else "") + (f"#{HIDDEN}" if parts.fragment else "")


def credentials_word(authorization: str | None) -> str:
    """What an ``Authorization`` header carries, as words: never its value."""
    if not authorization:
        return ""
    scheme = authorization.split(" ", 1)[0].lower()
    return _SCHEME_WORDS.get(scheme, "credentials")


def _json(body: bytes) -> object:
    text = body.decode("utf-8", "replace").strip()
    if text.startswith(("event:", "data:", "id:", ":")):  # server-sent events: the data lines
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        text = data[-1] if data else ""
    return json.loads(text)


def _json_summary(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_json_summary(item) for item in value[:_MAX_ITEMS])
    if not isinstance(value, Mapping):
        return ""
    if "jsonrpc" in value:
        return _jsonrpc_summary(value)
    return fields(value.items())


def _jsonrpc_summary(message: Mapping) -> str:
    """A JSON-RPC message: its method and tool name, or its result kind / error code."""
    params = message.get("params") if isinstance(message.get("params"), Mapping) else {}
    if isinstance(message.get("method"), str):
        method = message["method"] if _PLAIN.fullmatch(message["method"]) else HIDDEN
        name = params.get("name")
        return f"{method} {name}" if isinstance(name, str) and _PLAIN.fullmatch(name) else method
    error = message.get("error")
    if isinstance(error, Mapping):
        code = error.get("code")
        return f"error {code}" if isinstance(code, int) else "error"
    result = message.get("result")
    if isinstance(result, Mapping) and result.get("isError") is True:
        return "result isError"
    return "result" if "result" in message else ""


def body_summary(body: bytes | str | None, content_type: str | None) -> str:
    """A request or answer body in a few safe words."""
    if not body:
        return ""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return fields(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if kind.endswith("json") or kind == "text/event-stream":
        try:
            return _json_summary(_json(raw))
        except ValueError:
            pass
    return f"a {kind} body" if kind and _PLAIN.fullmatch(kind) else "a body"  # no length: it may change between runs


def request_summary(headers: Mapping[str, str], body: bytes | str | None) -> str:
    """The credentials a request carries and its body, e.g. ``Basic client credentials, grant_type=…``."""
    parts = [credentials_word(headers.get("Authorization"))]
    if headers.get("DPoP"):
        parts.append("DPoP proof")
    parts.append(body_summary(body, headers.get("Content-Type")))
    return ", ".join(part for part in parts if part)


def answer_summary(headers: Mapping[str, str], body: bytes | None) -> str:
    """An answer's error or content in safe words, e.g. ``error=invalid_client``."""
    parts = []
    challenge = headers.get("WWW-Authenticate") or ""
    if challenge:
        found = dict(re.findall(r'(error|scope)="([^"]*)"', challenge))
        scheme = challenge.split(" ", 1)[0]
        words = " ".join(_value(name, value) for name, value in found.items())
        parts.append(words or f"asks for {scheme if scheme.isalpha() else 'credentials'}")
    location = headers.get("Location")
    if location:
        parts.append(f"to {masked_target(location)}")
    content = body_summary(body, headers.get("Content-Type"))
    if parts and parts[0] and content.startswith(parts[0]):
        parts[0] = ""  # the body says it again (an OAuth error in the challenge and the JSON)
    parts.append(content)
    return ", ".join(part for part in parts if part)
