"""How Claude Code, VS Code, Cursor and Codex are pointed at an Okta-protected MCP server.

From Okta's *Configure an AI agent for Agent Gateway* (okta-developer-docs,
``packages/@okta/vuepress-site/docs/guides/ai-configure-agent-for-gateway/main/index.md``, a
research-stage guide). The guide gives Claude Code's configuration file in full; for VS Code with
GitHub Copilot, Cursor and Codex it gives where each keeps its MCP configuration, the
authentication method, and a note, in a table ("Other supported platforms"). This module fills in
the calculator's values and adds nothing the guide does not say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["OKTA_GUIDE", "ClientConfiguration", "claude_code_config", "client_configurations"]

OKTA_GUIDE = "okta-developer-docs: packages/@okta/vuepress-site/docs/guides/ai-configure-agent-for-gateway/main/index.md"


@dataclass(frozen=True)
class ClientConfiguration:
    """One MCP client: where its MCP configuration lives, how it authenticates, Okta's note."""

    client: str
    where: str
    auth: str
    note: str


def claude_code_config(mcp_url: str, client_id: str, name: str = "calculator") -> str:
    """Claude Code's ``.mcp.json`` (project) or ``~/.claude/mcp.json`` (global), as in Okta's guide."""
    return json.dumps({"mcpServers": {name: {"url": mcp_url, "auth": {"type": "oauth", "clientId": client_id}}}}, indent=2)


def client_configurations() -> list[ClientConfiguration]:
    """The four clients, in Okta's words (the guide's section and table)."""
    return [
        ClientConfiguration(
            "Claude Code", "`.mcp.json` in the project root, or the global `~/.claude/mcp.json`",
            "OAuth, `clientId` (a public client)",
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
