"""A standard MCP client against the Okta-protected calculator (notebook 07, sections 1 and 2).

- ``server.py``: the calculator protected for the audience Okta should put in its tokens, the MCP
  server's own URL (:func:`start_mcp_calculator`);
- ``browser.py``: FastMCP's ``OAuth`` signed in without a person at the browser, by filling in
  the local sign-in page (:func:`sign_in_automatically`), and the client's log kept out of cells;
- ``cimd_host.py``: a client ID metadata document served over HTTPS on 127.0.0.1 (the CIMD demo);
- ``configs.py``: the MCP configuration of Claude Code, VS Code, Cursor and Codex for the calculator,
  as Okta's *Configure an AI agent for Agent Gateway* guide gives it.
"""

from helpers.mcp_client.browser import notebook_sign_in, quiet_client_logs, show_sign_in_link, sign_in_automatically
from helpers.mcp_client.cimd_host import host_client_metadata
from helpers.mcp_client.configs import claude_code_config, client_configurations
from helpers.mcp_client.server import McpCalculator, mcp_client_redirect_uri, require_mcp_client, start_mcp_calculator

__all__ = [
    "McpCalculator", "claude_code_config", "client_configurations", "host_client_metadata",
    "mcp_client_redirect_uri", "notebook_sign_in", "quiet_client_logs", "require_mcp_client", "show_sign_in_link",
    "sign_in_automatically",
    "start_mcp_calculator",
]
