"""Which private-key service app the tutorial uses: ``KEY_CLIENT_ID`` and ``KEY_PRIVATE_KEY_FILE``.

An API Services app whose client authentication is *Public key / Private key* (``private_key_jwt``)
has a client id and no secret; the service holds the private key in a PEM file. ``.env`` names the
app and the **path** of that file (never the key itself). Both are optional: notebooks 01 to 06 never
need them, and only the section that does stops, saying what to create. With the local server the
app is ``key_service`` and the notebook makes the key pair itself (``private_key_file`` is ``None``).

Read like :mod:`helpers.settings` (environment variables win over ``.env``; the same trusted-file
check on ``.env``); kept apart so that module stays one job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from helpers.settings import _PLACEHOLDER_MARKS, ConfigurationError, _read_env_file

__all__ = ["KeyClient", "load_key_client", "require_key_client"]

#: The local server's private-key app (``helpers.local_okta.defaults``).
LOCAL_LABEL = "key_service"
NOT_SET = (
    "KEY_CLIENT_ID is not set (or still a placeholder): this section needs an API Services app whose client "
    "authentication is Public key / Private key. Make a key pair (python -m helpers.tokens.private_key new DIR), "
    "create the app (Applications > Create App Integration > API Services), then General > Client Credentials > "
    "Edit > Public key / Private key > Add key and paste the printed public key; give the app an access policy "
    "rule like the write service's, and set KEY_CLIENT_ID and KEY_PRIVATE_KEY_FILE (the path of private_key.pem) in .env."
)


@dataclass(frozen=True)
class KeyClient:
    """A service app that authenticates with a private key: its client id and the PEM file's path
    (``None`` with the local server, where the notebook makes the key pair)."""

    client_id: str
    private_key_file: str | None = None


def load_key_client(environ: Mapping[str, str] | None = None,
                    env_file: str | os.PathLike[str] | None = None) -> KeyClient | None:
    """``KEY_CLIENT_ID`` and ``KEY_PRIVATE_KEY_FILE`` from the environment and ``.env``: both, or
    neither (placeholders count as neither); ``ConfigurationError`` for one without the other or a
    path that is no file."""
    environ = os.environ if environ is None else environ
    path = find_dotenv(usecwd=True) if env_file is None else str(env_file)
    from_file = {k: v for k, v in dotenv_values(stream=_read_env_file(path)).items() if v is not None} if path else {}
    values = {**from_file, **{k: v for k, v in environ.items() if v is not None}}
    client_id = (values.get("KEY_CLIENT_ID") or "").strip() or None
    key_file = (values.get("KEY_PRIVATE_KEY_FILE") or "").strip() or None
    if any(value and any(mark in value for mark in _PLACEHOLDER_MARKS) for value in (client_id, key_file)):
        return None
    if client_id is None and key_file is None:
        return None
    if client_id is None or key_file is None:
        given, missing = ("KEY_CLIENT_ID", "KEY_PRIVATE_KEY_FILE") if key_file is None else ("KEY_PRIVATE_KEY_FILE", "KEY_CLIENT_ID")
        raise ConfigurationError(f"{given} is set but {missing} is not: set both, or neither.")
    if not Path(key_file).expanduser().is_file():
        raise ConfigurationError(f"KEY_PRIVATE_KEY_FILE={key_file!r} is not a file: give the path of the private key's "
                                 "PEM file (python -m helpers.tokens.private_key new DIR writes DIR/private_key.pem).")
    return KeyClient(client_id, str(Path(key_file).expanduser()))


def require_key_client(auth_server) -> KeyClient:
    """The private-key app for ``auth_server`` (``connect_authorization_server()``): the local server's
    ``key_service`` (no key file yet), or the one ``.env`` names; else an error saying what to create."""
    if auth_server.local is not None:
        return KeyClient(auth_server.local.clients[LOCAL_LABEL].client_id)
    key_client = load_key_client()
    if key_client is None:
        raise ConfigurationError(NOT_SET)
    return key_client
