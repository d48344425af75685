"""How Claude Code, VS Code, Cursor and Codex are pointed at an Okta-protected MCP server.

From Okta's *Configure an AI agent for Agent Gateway* (okta-developer-docs,
``packages/@okta/vuepress-site/docs/guides/ai-configure-agent-for-gateway/main/index.md``, a
research-stage guide). The guide gives Claude Code's configuration file in full; for VS Code with
GitHub Copilot, Cursor and Codex it gives where each keeps its MCP configuration, the
authentication method, and a note, in a table ("Other supported platforms"). This module fills in
the calculator's values. One correction: for Claude Code the guide prints ``"auth": {"type":
"oauth", "clientId": ...}`` and ``~/.claude/mcp.json``, while Claude Code's own documentation
("Use pre-configured OAuth credentials", "Use a fixed OAuth callback port") reads
``"oauth": {"clientId": ..., "callbackPort": N}`` on an ``"http"`` server entry, keeps user-wide
servers in ``~/.claude.json``, and listens on ``http://localhost:N/callback``: that form is the one
given here (:func:`claude_code_config`), with the redirect URI to register (:data:`CLAUDE_CODE_REDIRECT_URI`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["CLAUDE_CODE_REDIRECT_URI", "OKTA_GUIDE", "ClientConfiguration", "claude_code_config", "client_configurations"]

OKTA_GUIDE = "okta-developer-docs: packages/@okta/vuepress-site/docs/guides/ai-configure-agent-for-gateway/main/index.md"
#: Claude Code's fixed callback port in :func:`claude_code_config`, and the redirect URI it then listens on:
#: register it on the Native app too (Okta compares exactly, and ``localhost`` is not ``127.0.0.1``).
CLAUDE_CODE_CALLBACK_PORT = 8766
CLAUDE_CODE_REDIRECT_URI = f"http://localhost:{CLAUDE_CODE_CALLBACK_PORT}/callback"


@dataclass(frozen=True)
class ClientConfiguration:
    """One MCP client: where its MCP configuration lives, how it authenticates, Okta's note."""

    client: str
    where: str
    auth: str
    note: str


def claude_code_config(mcp_url: str, client_id: str, name: str = "calculator") -> str:
    """Claude Code's ``.mcp.json`` (project; user-wide servers live in ``~/.claude.json``), in the form
    Claude Code documents for a pre-registered client with a fixed callback port."""
    server = {"type": "http", "url": mcp_url, "oauth": {"clientId": client_id, "callbackPort": CLAUDE_CODE_CALLBACK_PORT}}
    return json.dumps({"mcpServers": {name: server}}, indent=2)


def client_configurations() -> list[ClientConfiguration]:
    """The four clients, in Okta's words (the guide's section and table)."""
    return [
        ClientConfiguration(
            "Claude Code", "`.mcp.json` in the project root (Okta's guide: or the global `~/.claude/mcp.json`; "
            "Claude Code's docs: `~/.claude.json`)",
            "OAuth, `clientId` (a public client); redirect URI `http://localhost:PORT/callback`",
            "On the first tool call Claude Code opens the Okta sign-in page; the Claude Code VS Code "
            "extension uses the same configuration."),
        ClientConfiguration(
            "VS Code with GitHub Copilot", "Copilot enterprise MCP registry (GitHub org settings > Copilot > MCP "
            "servers) or local VS Code `settings.json`", "OAuth 2.0, `client_id`",
            "Publishes its own CIMD URL, so per-tenant provisioning isn't required after CIMD support becomes "
            "Generally Available."),
        ClientConfiguration(
            "Cursor", "Cursor settings > Tools & Integrations > MCP", "OAuth 2.0, `client_id`",
            "Attempts Dynamic Client Registration by default, which Okta doesn't support. Use a pre-configured "
            "`client_id` or static bearer token instead."),
        ClientConfiguration(
            "Codex (OpenAI)", "`managed_config.toml`", "OAuth 2.0 with PKCE, public client (no secret)",
            "Deploy the config through MDM with a requirements allowlist restricting approved servers."),
    ]
