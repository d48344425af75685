"""Helpers for the Okta-protected calculator MCP tutorial.

The notebooks import from here so that every cell stays short and every piece of
logic is written (and tested) once. Data flows one way, top to bottom:

- ``helpers.settings``: configuration from the environment and ``.env``.
- ``helpers.authorization_server``: the local Okta-compatible server, or the tenant in ``.env``.
- ``helpers.local_okta``: that local server (``python -m helpers.local_okta``).
- ``helpers.okta_checks``: setup checks with console fixes (``python -m helpers.okta_checks``).
- ``helpers.discovery``: from an MCP server's URL to its authorization server (pinned issuer).
- ``helpers.tokens``: client-credentials tokens three ways, and a token manager.
- ``helpers.user_login``: authorization code + PKCE + refresh + step-up, the gateway's side.
- ``helpers.bearer_auth``, ``helpers.challenge``, ``helpers.backoff``: what both clients share
  (the ``httpx2.Auth`` flow, ``WWW-Authenticate`` parsing, a shared failure with a pause).
- ``helpers.urls`` and ``helpers.error_chain``: where secrets may go; errors inside wrappers.
- ``helpers.verification`` and ``helpers.scope_guard``: token verification, per-tool scopes.
- ``helpers.calculator``: the calculator MCP server (``python -m helpers.calculator``).
- ``helpers.background``: run an ASGI app on 127.0.0.1 in a daemon thread.
- ``helpers.display`` and ``helpers.bad_tokens``: what notebooks show.
- ``helpers.exercises``: the exercises' feedback (what is wrong and a hint, no traceback).
- ``helpers.handouts``: the learner edition of the notebooks (``python -m helpers.handouts``).
- ``helpers.log_safety``: no secret in DEBUG logs (applied on import of ``helpers``).
"""

from helpers.log_safety import keep_secrets_out_of_logs

__all__ = ["__version__"]
__version__ = "0.1.0"

keep_secrets_out_of_logs()
