"""Helpers for the Okta-protected calculator MCP tutorial.

The notebooks import from here so that every cell stays short and every piece of
logic is written (and tested) once:

- ``helpers.settings``: which authorization server the notebooks use (``.env`` or the local one).
- ``helpers.background``: run an ASGI app on 127.0.0.1 in a daemon thread.
- ``helpers.calculator``: the calculator MCP server (``add``, ``subtract``, ``get_me``).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
