"""Serve a FastMCP server built in a notebook cell, the way ``helpers.calculator`` serves its own.

Notebook 01 has the learner write the calculator in a cell (a ``FastMCP`` instance and its
tools), as they would in their own ``server.py``. This module is the plumbing that runs it
without blocking the notebook: stateless streamable HTTP at ``/mcp``, on 127.0.0.1 and a free
port, in a background thread (:mod:`helpers.background`: restart-safe by name, stopped when the
interpreter exits), with FastMCP's Host/Origin (DNS-rebinding) protection on and the server's
logs kept out of cell outputs. It serves the instance exactly as
:func:`helpers.calculator.calculator_app` serves the calculator without authentication.

    >>> server = start_mcp_server(mcp)
    >>> server.mcp_url
    'http://127.0.0.1:53211/mcp'
    >>> server.stop()

In a file of your own, the same server runs in the foreground with::

    mcp.run(transport="http", host="127.0.0.1", port=8000, stateless_http=True, host_origin_protection=True)
"""

from __future__ import annotations

from fastmcp import FastMCP
from starlette.applications import Starlette

from helpers import background
from helpers.calculator import MCP_PATH, CalculatorServer, quiet_server_logs

__all__ = ["mcp_app", "start_mcp_server"]


def mcp_app(mcp: FastMCP) -> Starlette:
    """A fresh ASGI app serving ``mcp`` at ``/mcp``: stateless, Host and Origin checked.

    A request must be addressed to a loopback name (``Host``) and, from a browser, come from a
    loopback origin (``Origin``); others get 421 or 403 before they reach a tool. An app can be
    served once, so build one per start.
    """
    return mcp.http_app(path=MCP_PATH, stateless_http=True, host_origin_protection=True)


def start_mcp_server(mcp: FastMCP, *, name: str = "calculator", port: int = 0) -> CalculatorServer:
    """Serve ``mcp`` on 127.0.0.1 in a background thread; restart the server of the same name.

    ``name`` defaults to the one :func:`helpers.calculator.start_calculator` uses, so one
    calculator runs at a time. ``port=0`` picks a free port (read it back from ``.port``).
    Tools added to ``mcp`` after the start are served at once: FastMCP looks them up per request.
    """
    if not isinstance(mcp, FastMCP):
        raise TypeError(
            f"start_mcp_server needs the FastMCP server itself (mcp = FastMCP(...)), not {type(mcp).__name__}."
        )
    quiet_server_logs()
    return CalculatorServer(background.start(name=name, port=port, app_for_url=lambda url: mcp_app(mcp)))
