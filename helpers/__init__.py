"""Helpers for the Okta-protected calculator MCP tutorial.

The notebooks import from here so that every cell stays short and every piece of
logic is written (and tested) once. Data flows one way, top to bottom:

- ``helpers.settings``: configuration from the environment and ``.env``.
- ``helpers.authorization_server``: the local Okta-compatible server, or the tenant in ``.env``.
- ``helpers.local_okta``: that local server (``python -m helpers.local_okta``).
- ``helpers.okta_checks``: setup checks with console fixes (``python -m helpers.okta_checks``).
- ``helpers.discovery``: from an MCP server's URL to its authorization server.
- ``helpers.tokens``: client-credentials tokens three ways, and a token manager.
- ``helpers.user_login``: authorization code + PKCE + refresh, the gateway's side.
- ``helpers.verification``: the calculator's token verification and per-tool scopes.
- ``helpers.calculator``: the calculator MCP server (``python -m helpers.calculator``).
- ``helpers.background``: run an ASGI app on 127.0.0.1 in a daemon thread.
- ``helpers.display`` and ``helpers.bad_tokens``: what notebooks show.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
