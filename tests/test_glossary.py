"""GLOSSARY.md keeps up with the notebooks: every watched word a notebook uses has an entry.

``WATCHED`` maps each glossary heading to a regular expression for the word in a notebook's
text (its Markdown and code cells and their committed outputs). When a notebook uses a watched word whose entry
is missing, the test names the word and the notebook. A new word in a notebook: add an entry to
GLOSSARY.md (a ``###`` heading, in alphabetical order) and a line here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "GLOSSARY.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

WATCHED = {
    "401 vs 403": r"\b40[13]\b",
    "`.env` file": r"\.env\b",
    "Access policy": r"(?i)access polic",
    "Access token": r"(?i)access[ _]token",
    "Admin Console": r"Admin Console",
    "AI gateway": r"(?i)\bAI gateway",
    "`alg` (algorithm)": r"\balg\b",
    "Algorithm confusion": r"(?i)algorithm confusion",
    "API Services app": r"API Services",
    "`aud`": r"\baud\b",
    "Audience": r"(?i)\baudience\b",
    "`auth_time`": r"\bauth_time\b",
    "Authorization Code grant": r"(?i)authorization[ _]code",
    "Authorization endpoint": r"(?i)authoriz(ation|e)[ _]endpoint|/v1/authorize",
    "Authorization server": r"(?i)authorization[ _]server",
    "Base64url": r"(?i)base64",
    "Bearer token": r"(?i)\bbearer\b",
    "Certificate authority (CA)": r"(?i)certificate authority|\bCA\b|_CA_",
    "Checkpoint (notebook)": r"(?i)\bcheckpoint\b",
    "Client ID metadata document (CIMD)": r"\bCIMD\b|(?i:client id metadata document)",
    "`cid`": r"\bcid\b",
    "Claim": r"(?i)\bclaims?\b",
    "Client": r"(?i)\bclients?\b",
    "Client assertion": r"(?i)client[ _]assertion",
    "Client credentials grant": r"(?i)client[ _]credentials",
    "Client ID and client secret": r"(?i)client[ _](id|secret)",
    "`client_secret_basic` and `client_secret_post`": r"client_secret_(basic|post)",
    "Clock skew and leeway": r"(?i)\bclock|\bskew\b|\bleeway\b",
    "Code verifier and code challenge": r"(?i)code[ _](verifier|challenge)",
    "Confidential client": r"(?i)\bconfidential\b|public (app|client)",
    "Confused deputy": r"(?i)confused deputy",
    "Consent": r"(?i)\bconsent",
    "Cross App Access (XAA)": r"Cross App Access|\bXAA\b",
    "Custom authorization server": r"(?i)custom authorization server",
    "Default Policy": r"Default Policy",
    "Device Authorization grant": r"(?i)device (authorization|code)",
    "Discovery and metadata": r"(?i)\bdiscover|\bmetadata\b",
    "DNS rebinding": r"(?i)DNS rebinding",
    "DPoP": r"DPoP",
    "Dynamic client registration (DCR)": r"\bDCR\b|(?i:dynamic client registration)",
    "`exp`": r"\bexp\b",
    "FastMCP": r"(?i)\bfastmcp\b",
    "Grace period": r"(?i)grace[ _]period",
    "Grant type": r"(?i)\bgrant[ _]types?\b",
    "Header (JWT)": r"(?i)\bheader\b",
    "HS256": r"HS256",
    "HTTP Basic authentication": r"(?i)HTTP Basic|\bBasic auth|Authorization: Basic",
    "`httpx2.Auth`": r"httpx2?\.Auth\b",
    "`iat`": r"\biat\b",
    "ID-JAG": r"(?i)\bID-JAG\b|\bid_jag\b",
    "ID token": r"(?i)\bID token|\bid_token\b",
    "`insufficient_scope`": r"insufficient_scope",
    "`invalid_token`": r"invalid_token",
    "`iss`": r"\biss\b",
    "Issuer": r"(?i)\bissuer\b",
    "JSON-RPC": r"JSON-RPC|\bjsonrpc\b",
    "JSON Schema": r"(?i)JSON Schema|\binput_?schema\b",
    "JupyterLab": r"(?i)\bjupyter",
    "Kernel (Jupyter)": r"(?i)\bkernel\b",
    "`jti`": r"\bjti\b",
    "JWKS": r"(?i)\bjwks",
    "JWS": r"\bJWS\b",
    "JWT": r"\bJWTs?\b",
    "JWT bearer grant": r"(?i)JWT bearer grant|grant-type:jwt-bearer",
    "`kid`": r"\bkids?\b",
    "Local authorization server": r"(?i)local (Okta-compatible )?authorization server|\blocal_okta\b",
    "Loopback": r"(?i)\bloopback\b|127\.0\.0\.1|\blocalhost\b",
    "Machine-to-machine (M2M)": r"M2M|(?i:machine-to-machine)",
    "MCP (Model Context Protocol)": r"\bMCP\b",
    "Mix-up attack": r"(?i)mix-up attack",
    "MCP tool": r"\btools/(list|call)\b|(?i:MCP tools?\b)|@mcp\.tool",
    "Native app": r"Native [Aa]pp",
    "`nbf`": r"\bnbf\b",
    "Nonce": r"(?i)\bnonce\b",
    "OAuth 2.0": r"\bOAuth\b",
    "OAuth error codes": r"\b(invalid_client|invalid_grant|invalid_scope|unauthorized_client|access_denied|invalid_target)\b",
    "OAuth roles": r"(?i)\bOAuth roles?\b|\bfour roles\b",
    "`OAUTHLIB_INSECURE_TRANSPORT`": r"OAUTHLIB_INSECURE_TRANSPORT",
    "`offline_access`": r"offline_access",
    "Okta": r"\bOkta\b",
    "Okta org": r"(?i)\bOkta org\b|\byour org\b|\btenant\b",
    "Opaque token": r"(?i)\bopaque\b",
    "OpenID Connect (OIDC)": r"OpenID|\bOIDC\b|\bopenid\b",
    "Org authorization server": r"(?i)\borg (authorization )?server\b",
    "Path-inserted form": r"(?i)path-inserted",
    "Payload (claims)": r"(?i)\bpayload\b",
    "PKCE": r"PKCE",
    "Private key and public key": r"(?i)\b(private|public)[ _]key",
    "`private_key_jwt`": r"private_key_jwt",
    "Public client": r"(?i)public client",
    "Redirect URI": r"(?i)redirect[ _]ur[il]",
    "Refresh token": r"(?i)refresh[ _]token",
    "Refresh token rotation": r"(?i)\brotat(e|es|ed|ion)\b",
    "Remote MCP server": r"(?i)\bremote MCP\b",
    "Resource connection": r"(?i)resource connections?\b",
    "Resource owner": r"(?i)resource owner",
    "Resource server": r"(?i)resource server",
    "Reuse detection": r"(?i)\breuse",
    "Revocation": r"(?i)\brevo(ke|ked|kes|cation)\b",
    "RFC 6750 (bearer token usage)": r"RFC ?6750",
    "RFC 8252 (OAuth for native apps)": r"RFC ?8252",
    "RFC 8414 (authorization server metadata)": r"RFC ?8414",
    "RFC 8707 (resource indicators)": r"RFC ?8707|\bsend_resource\b|`resource`",
    "RFC 9207 (authorization server issuer identification)": r"RFC ?9207|authorization_response_iss_parameter_supported",
    "RFC 9728 (protected resource metadata)": r"RFC ?9728|oauth-protected-resource|(?i:protected resource metadata)",
    "RS256": r"RS256",
    "Rule (access policy rule)": r"(?i)\brules?\b",
    "S256": r"\bS256\b",
    "Scope": r"(?i)\bscopes?\b",
    "`scp`": r"\bscp\b",
    "Sequence diagram": r"(?i)sequence diagram|sequenceDiagram",
    "Server-Sent Events (SSE)": r"Server-Sent Event|\bSSE\b|text/event-stream",
    "Signature": r"(?i)\bsignatures?\b",
    "State": r"`state`|\bstate=|[\"']state[\"']|StateMismatch",
    "Step-up": r"(?i)\bstep[- _]?up",
    "Streamable HTTP": r"(?i)streamable[- ]HTTP",
    "`structuredContent`": r"structuredContent",
    "`sub`": r"\bsub\b",
    "TLS": r"\bTLS\b|\bHTTPS\b",
    "Token cache": r"(?i)\btoken (cache|manager)\b",
    "Token endpoint": r"(?i)token[ _]endpoint|/v1/token",
    "Token exchange": r"(?i)token exchange|grant-type:token-exchange",
    "Token introspection": r"(?i)\bintrospect",
    "Token passthrough": r"(?i)token passthrough",
    "Token verifier": r"(?i)token[ _]verifier|TokenVerifier",
    "`uid`": r"\buid\b",
    "Userinfo": r"(?i)\buserinfo\b",
    "`ver`": r"\bver\b",
    "Well-known URI": r"\.well-known",
    "WWW-Authenticate": r"WWW-Authenticate",
}
COMPILED = {heading: re.compile(pattern) for heading, pattern in WATCHED.items()}


def glossary_headings(text: str | None = None) -> list[str]:
    """The ``###`` headings of GLOSSARY.md (one per entry), in file order."""
    text = GLOSSARY.read_text(encoding="utf-8") if text is None else text
    return [line[4:].strip() for line in text.splitlines() if line.startswith("### ")]


def sort_key(heading: str) -> str:
    """Alphabetical order ignoring case, backticks and punctuation: `.env` file sorts as 'env file'."""
    return re.sub(r"[^a-z0-9]+", " ", heading.lower()).strip()


def github_anchor(heading: str) -> str:
    """The anchor GitHub (and JupyterLab) give a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def notebook_text(path: Path) -> str:
    """What a learner reads: every cell's source, and the text of the committed outputs."""
    parts = []
    for cell in nbformat.read(path, as_version=4).cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def missing_entries(text: str, headings: list[str]) -> list[str]:
    """Watched words used in ``text`` that have no entry among ``headings``."""
    present = set(headings)
    return [heading for heading, pattern in COMPILED.items() if heading not in present and pattern.search(text)]


def test_there_are_notebooks_and_a_glossary():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_unauthenticated_server.ipynb"]
    assert len(glossary_headings()) >= len(WATCHED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_watched_word_a_notebook_uses_has_an_entry(path):
    missing = missing_entries(notebook_text(path), glossary_headings())
    assert missing == [], f"{path.name} uses {', '.join(repr(m) for m in missing)}: add the entry to GLOSSARY.md"


def test_every_watched_word_has_an_entry():
    assert [heading for heading in WATCHED if heading not in glossary_headings()] == []


def test_a_removed_entry_fails_naming_the_word_and_the_notebook():
    text = GLOSSARY.read_text(encoding="utf-8")
    without_kid = re.sub(r"(?ms)^### `kid`\n.*?(?=^### )", "", text)
    headings = glossary_headings(without_kid)
    assert "`kid`" not in headings and len(headings) == len(glossary_headings()) - 1
    failing = {path.name: missing_entries(notebook_text(path), headings) for path in NOTEBOOKS}
    assert any(missing == ["`kid`"] for missing in failing.values()), failing


def test_headings_are_unique_and_alphabetical():
    headings = glossary_headings()
    keys = [sort_key(heading) for heading in headings]
    duplicates = sorted({heading for heading, key in zip(headings, keys) if keys.count(key) > 1})
    assert duplicates == []
    out_of_order = [(a, b) for a, b in zip(headings, headings[1:]) if sort_key(a) > sort_key(b)]
    assert out_of_order == [], f"not alphabetical: {out_of_order[:3]}"


def test_internal_links_reach_an_entry():
    text = GLOSSARY.read_text(encoding="utf-8")
    anchors = {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)
    assert broken == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebooks_glossary_links_reach_an_entry(path):
    text = GLOSSARY.read_text(encoding="utf-8")
    anchors = {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    linked = set(re.findall(r"GLOSSARY\.md#([^)\s]+)\)", notebook_text(path)))
    assert sorted(linked - anchors) == [], f"{path.name} links to glossary entries that do not exist"


def test_each_entry_is_one_short_paragraph_with_a_definition():
    text = GLOSSARY.read_text(encoding="utf-8")
    for block in re.split(r"(?m)^### ", text)[1:]:
        heading, _, body = block.partition("\n")
        body = re.split(r"(?m)^## ", body)[0].strip()
        assert body, f"{heading}: empty entry"
        assert "\n\n" not in body, f"{heading}: one paragraph per entry"
        assert len(body) <= 1200, f"{heading}: {len(body)} characters; keep an entry short"
