"""Whether the learner's browser is probably on another machine than this kernel.

The gateway's redirect listener and the local sign-in page listen on ``127.0.0.1`` of the
kernel's machine. A browser on the same machine reaches them; a browser elsewhere (JupyterHub,
GitHub Codespaces, Binder, Colab, a kernel started over SSH) does not: it lands on an error
page after signing in, and the sign-in finishes only when the learner pastes that page's address
into the notebook (:meth:`PendingSignIn.complete`). Notebook 06 asks :func:`browser_elsewhere`
to choose the paste path by itself and to say why. ``TUTORIAL_BROWSER=remote`` or ``=local``
overrides the guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["browser_elsewhere"]

# (environment variable, what it means) in the order checked; the first one set decides.
_SIGNS = (
    ("CODESPACES", "this kernel runs in GitHub Codespaces"),
    ("JUPYTERHUB_API_URL", "this kernel was started by a JupyterHub"),
    ("BINDER_LAUNCH_HOST", "this kernel runs on Binder"),
    ("COLAB_RELEASE_TAG", "this kernel runs on Google Colab"),
    ("SSH_CONNECTION", "this kernel was started over SSH"),
)


def browser_elsewhere(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the browser is probably not on this kernel's machine, or ``None`` if it probably is."""
    environ = os.environ if environ is None else environ
    choice = environ.get("TUTORIAL_BROWSER", "").strip().lower()
    if choice == "remote":
        return "TUTORIAL_BROWSER=remote says so"
    if choice == "local":
        return None
    if choice:
        raise ValueError(f"TUTORIAL_BROWSER={choice!r} is not understood: use 'local', 'remote' or leave it unset.")
    for name, meaning in _SIGNS:
        if environ.get(name, "").strip() not in ("", "false", "0"):
            return f"{meaning} ({name} is set)"
    return None
