"""403 ``insufficient_scope`` for a tool call whose token lacks the tool's scope.

FastMCP's per-tool ``require_scopes`` hides a tool the token may not call, so calling it
answers "Unknown tool" inside HTTP 200. :class:`ToolScopeGuard` answers such a call the way
the MCP authorization specification asks: HTTP 403 with
``WWW-Authenticate: Bearer error="insufficient_scope", scope="...", resource_metadata="..."``,
which tells a client exactly which scope to ask for (step-up authorization).

It decides from the **parsed** JSON-RPC message, never from bytes: ``"tools\\/call"`` and
``"tools\\u002fcall"`` are the same method to every JSON parser. The MCP SDK parses a request
with ``pydantic_core.from_json`` or ``json.loads`` (by protocol version), and the two differ at
the edges (a byte-order mark, UTF-16, nesting depth), so the guard reads the body with both and
checks every tool either reading calls. A body nested too deeply for them gets 400, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic_core
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ToolScopeGuard", "called_tools"]

#: The JSON-RPC parse error code (what the MCP SDK answers for a body it cannot read).
PARSE_ERROR = -32700


class NestingTooDeep(ValueError):
    """The body is JSON nested deeper than the parsers allow."""


class ToolScopeGuard:
    """ASGI middleware: a ``tools/call`` whose token lacks the tool's scope gets HTTP 403.

    It runs after FastMCP's authentication (so ``scope["user"]`` holds the verified token)
    and before the MCP endpoint. Requests without a verified token pass through untouched,
    to get FastMCP's 401. Bodies above ``max_body_bytes`` get 413 instead of being buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tool_scopes: Mapping[str, tuple[str, ...]],
        mcp_path: str,
        resource_metadata_url: str,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        self.app = app
        self.tool_scopes = {name: tuple(scopes) for name, scopes in tool_scopes.items()}
        self.mcp_path = mcp_path.rstrip("/")
        self.resource_metadata_url = resource_metadata_url
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user") if scope["type"] == "http" else None
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") != self.mcp_path
            or not isinstance(user, AuthenticatedUser)
        ):
            await self.app(scope, receive, send)
            return

        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _send_json(send, 413, {
                "error": "request_too_large",
                "error_description": f"The request body exceeds {self.max_body_bytes} bytes.",
            })
            return
        try:
            tools = called_tools(body)
        except NestingTooDeep:
            await _send_json(send, 400, {
                "jsonrpc": "2.0", "id": None,
                "error": {"code": PARSE_ERROR, "message": "Parse error: the JSON is nested too deeply."},
            })
            return

        granted = set(user.scopes)
        for tool in tools:
            missing = [s for s in self.tool_scopes.get(tool, ()) if s not in granted]
            if missing:
                await self._insufficient_scope(send, tool, missing)
                return

        await self.app(scope, _replay(body, receive), send)

    async def _insufficient_scope(self, send: Send, tool: str, missing: list[str]) -> None:
        needed = " ".join(missing)
        description = f"The tool '{tool}' needs the scope {needed}, which this access token does not have."
        challenge = (
            f'Bearer error="insufficient_scope", error_description="{description}", '
            f'scope="{needed}", resource_metadata="{self.resource_metadata_url}"'
        )
        await _send_json(
            send,
            403,
            {"error": "insufficient_scope", "error_description": description, "scope": needed},
            [(b"www-authenticate", challenge.encode())],
        )


def called_tools(body: bytes) -> list[str]:
    """The names of the tools a JSON-RPC body calls, as any JSON reading of it sees them.

    ``[]`` when no parser can read it (the MCP endpoint then answers a parse error itself);
    :class:`NestingTooDeep` when it is nested beyond what the parsers allow.
    """
    names: list[str] = []
    too_deep = False
    for parse in (pydantic_core.from_json, json.loads):
        try:
            message = parse(body)
        except RecursionError:
            too_deep = True
            continue
        except (ValueError, UnicodeDecodeError) as exc:
            too_deep = too_deep or "recursion limit" in str(exc)
            continue
        names += [name for name in _tool_names(message) if name not in names]
    if too_deep and not names:
        raise NestingTooDeep("the JSON is nested too deeply")
    return names


def _tool_names(message: Any) -> list[str]:
    messages = message if isinstance(message, list) else [message]
    names = []
    for item in messages:
        if isinstance(item, dict) and item.get("method") == "tools/call":
            params = item.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                names.append(name)
    return names


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(send: Send, status: int, payload: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})
