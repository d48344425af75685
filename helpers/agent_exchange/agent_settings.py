"""Which AI agent the tutorial uses with a real org: ``AI_AGENT_CLIENT_ID`` and ``AI_AGENT_PRIVATE_KEY_FILE``.

An AI agent registered under Directory > AI Agents with *Client registration: Public/private key*
has a client id and no secret; the agent holds the private key in a PEM file. ``.env`` names the
agent and the **path** of that file (never the key itself). Both are optional: only the AI agent
section needs them. Read like :mod:`helpers.settings` and :mod:`helpers.key_settings` (environment
variables win over ``.env``; the same trusted-file check on ``.env``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from ..key_settings import KeyClient
from ..settings import _PLACEHOLDER_MARKS, ConfigurationError, _read_env_file

__all__ = ["NOT_SET", "load_agent_key"]

ID_NAME, FILE_NAME = "AI_AGENT_CLIENT_ID", "AI_AGENT_PRIVATE_KEY_FILE"
NOT_SET = (
    "AI_AGENT_CLIENT_ID is not set: this section needs an AI agent (Directory > AI Agents > Register AI agent; "
    "Okta for AI Agents) with Client registration Public/private key, a linked OIDC app whose sign-in redirect "
    "URI is OAUTH_REDIRECT_URI, and a resource connection to your custom authorization server allowing "
    "calculator.add. Set AI_AGENT_CLIENT_ID and AI_AGENT_PRIVATE_KEY_FILE in .env (see .env.example)."
)


def load_agent_key(environ: Mapping[str, str] | None = None,
                   env_file: str | os.PathLike[str] | None = None) -> KeyClient | None:
    """The agent's client id and key file from the environment and ``.env``: both, or neither
    (placeholders count as neither); ``ConfigurationError`` for one without the other or no file."""
    environ = os.environ if environ is None else environ
    path = find_dotenv(usecwd=True) if env_file is None else str(env_file)
    from_file = {k: v for k, v in dotenv_values(stream=_read_env_file(path)).items() if v is not None} if path else {}
    values = {**from_file, **{k: v for k, v in environ.items() if v is not None}}
    client_id = (values.get(ID_NAME) or "").strip() or None
    key_file = (values.get(FILE_NAME) or "").strip() or None
    if any(value and any(mark in value for mark in _PLACEHOLDER_MARKS) for value in (client_id, key_file)):
        return None
    if client_id is None and key_file is None:
        return None
    if client_id is None or key_file is None:
        given, missing = (ID_NAME, FILE_NAME) if key_file is None else (FILE_NAME, ID_NAME)
        raise ConfigurationError(f"{given} is set but {missing} is not: set both, or neither.")
    if not Path(key_file).expanduser().is_file():
        raise ConfigurationError(f"{FILE_NAME}={key_file!r} is not a file: give the path of the agent's private key "
                                 "(python -m helpers.tokens.private_key new DIR writes DIR/private_key.pem).")
    return KeyClient(client_id, str(Path(key_file).expanduser()))
