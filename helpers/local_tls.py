"""HTTPS on this machine: a certificate authority made for this process, trusted by this process.

Okta serves every authorization server over HTTPS, and clients (oauthlib, Okta's own verifier
library) rightly refuse anything else. So the local authorization server is HTTPS too, with a
certificate from a certificate authority (CA) that ``trustme`` creates in memory when this
process first needs it:

- :func:`local_ca` makes the CA once per process and issues one server certificate for
  ``127.0.0.1``, ``localhost`` and ``::1``; the server's key and certificate are written to a
  private folder (mode 0700) that is removed when the process exits. The CA's own private key is
  never written anywhere, so nothing else can issue certificates it vouches for.
- :func:`trust_local_ca` makes this process (and programs it starts, such as ``curl``) trust
  that CA *in addition to* the usual public ones: it writes a bundle of the roots trusted so far
  plus the local CA and points ``SSL_CERT_FILE`` (httpx, Python's ``ssl``), ``REQUESTS_CA_BUNDLE``
  (requests) and ``CURL_CA_BUNDLE`` (curl) at it. Certificate checks stay on everywhere; no
  ``verify=False``. :func:`trust_ca_file` does the same for any CA file (``OAUTH_CA_FILE``: the
  CA of a local server another process started, or of a proxy that inspects TLS), and refuses a
  file another user could have written.

The private folders live in a folder only this user can write (``$XDG_RUNTIME_DIR`` or
``~/.cache/okta-mcp-tutorial``), not directly in the shared ``/tmp``: once a process has
exited and removed its folder, another user of a shared host could otherwise recreate the same
path and put their own CA where a stale ``OAUTH_CA_FILE`` line, or a child process's
``SSL_CERT_FILE``, still points.

A real Okta tenant needs none of this: its certificates chain to public roots.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shlex
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["LocalCA", "UnsafeCAFileError", "local_ca", "read_ca_file", "trust_ca_file", "trust_lines",
           "trust_local_ca", "TRUST_VARIABLES"]

#: The variables that tell HTTP clients which CA bundle to trust.
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
HOSTS = ("127.0.0.1", "localhost", "::1")


class UnsafeCAFileError(ValueError):
    """A CA file that cannot be trusted: unreadable, not PEM, or writable by another user."""


@dataclass(frozen=True)
class LocalCA:
    """The process's local CA and the server certificate it issued (paths in a private folder)."""

    directory: Path
    ca_path: Path  # the CA certificate (public): what a client must trust
    cert_path: Path  # the server's certificate chain
    key_path: Path  # the server's private key (mode 0600)

    @property
    def server_spki_sha256(self) -> str:
        """Base64 SHA-256 of the server certificate's public key (Chromium's
        ``--ignore-certificate-errors-spki-list`` trusts exactly this key, nothing else)."""
        certificate = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        spki = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()


_lock = threading.Lock()
_ca: LocalCA | None = None
_trusted_bundle: Path | None = None


def local_ca() -> LocalCA:
    """This process's local CA (made on first use) and its server certificate for loopback names."""
    global _ca
    with _lock:
        if _ca is None:
            directory = _private_directory("tls-")
            authority = trustme.CA(organization_name="Okta MCP tutorial (local, this process only)")
            server = authority.issue_cert(*HOSTS)
            ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
            authority.cert_pem.write_to_path(str(ca_path))
            cert_path.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
            server.private_key_pem.write_to_path(str(key_path))
            os.chmod(key_path, 0o600)
            _ca = LocalCA(directory, ca_path, cert_path, key_path)
        return _ca


def trust_local_ca() -> Path:
    """Trust this process's local CA here and in the programs this process starts; the bundle's path."""
    return trust_ca_file(local_ca().ca_path)


def trust_ca_file(path: str | os.PathLike[str]) -> Path:
    """Trust the CA certificate(s) in ``path`` as well as the roots trusted so far; the bundle's path.

    For the local server's CA, and for ``OAUTH_CA_FILE`` (a local server started by another
    process, or a proxy that inspects TLS). The bundle holds the roots this process trusted
    before (the file ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` named, else certifi's) plus
    every CA trusted this way; ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``
    point at it. Trusting the same file twice changes nothing.
    """
    global _trusted_bundle
    extra = read_ca_file(path)
    with _lock:
        current = _trusted_bundle.read_bytes() if _trusted_bundle is not None and _trusted_bundle.exists() else None
        if current is None or not all(os.environ.get(v) == str(_trusted_bundle) for v in TRUST_VARIABLES):
            previous = next((os.environ[v] for v in TRUST_VARIABLES if os.path.isfile(os.environ.get(v, ""))), None)
            current = Path(previous or certifi.where()).read_bytes()
        if extra.strip() not in current:
            current = current.rstrip(b"\n") + b"\n" + extra.strip() + b"\n"
        if _trusted_bundle is None:
            _trusted_bundle = _private_directory("trust-") / "trusted-roots.pem"
        _trusted_bundle.write_bytes(current)
        for variable in TRUST_VARIABLES:
            os.environ[variable] = str(_trusted_bundle)
        return _trusted_bundle


def trust_lines(bundle: str | os.PathLike[str], shell: str = "bash") -> str:
    """One line to paste into a shell so that programs started there trust ``bundle``.

    ``bundle`` is a bundle of the public roots plus the local CA (:func:`trust_local_ca`'s), so
    other HTTPS calls from that shell keep working. It sets :data:`TRUST_VARIABLES`: Python's
    ``ssl`` and httpx read ``SSL_CERT_FILE``, requests ``REQUESTS_CA_BUNDLE``, curl
    ``CURL_CA_BUNDLE``. ``shell`` is ``"bash"`` (also zsh and sh) or ``"powershell"``.
    """
    path = str(bundle)
    if shell == "bash":
        return "export " + " ".join(f"{name}={shlex.quote(path)}" for name in TRUST_VARIABLES)
    if shell == "powershell":
        quoted = "'" + path.replace("'", "''") + "'"
        return "; ".join(f"$env:{name} = {quoted}" for name in TRUST_VARIABLES)
    raise ValueError(f"shell must be 'bash' or 'powershell', not {shell!r}")


def read_ca_file(path: str | os.PathLike[str]) -> bytes:
    """The PEM certificates in ``path``, read only if no other user could have put them there.

    On POSIX the file must not be a symbolic link, must belong to this user (or root) and be
    writable by nobody else, and so must its folder (a sticky folder such as ``/tmp`` is fine).
    Raises :class:`UnsafeCAFileError` saying what is wrong and what to do.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise UnsafeCAFileError(
            f"Cannot read the CA file {path} ({exc.strerror}; a symbolic link is refused). Give the path of a "
            "PEM certificate file itself, or remove OAUTH_CA_FILE."
        ) from None
    with os.fdopen(fd, "rb") as file:
        if hasattr(os, "getuid"):
            for what, info in (("file", os.fstat(file.fileno())), ("folder", os.stat(Path(path).parent))):
                foreign = info.st_uid not in (os.getuid(), 0)
                shared = info.st_mode & 0o022 and not (what == "folder" and info.st_mode & stat.S_ISVTX)
                if foreign or shared:
                    raise UnsafeCAFileError(
                        f"The CA file {path} is not trusted: its {what} "
                        f"{'belongs to another user' if foreign else 'can be written by other users'}, who could "
                        "make this process trust any certificate. Use a CA file in a folder only you can write "
                        "(a stale path from an earlier `python -m helpers.local_okta`? copy the new OAUTH_CA_FILE line)."
                    )
        data = file.read()
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UnsafeCAFileError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).")
    return data


def _private_bases() -> Iterator[Path]:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        yield Path(runtime) / "okta-mcp-tutorial"
    yield Path.home() / ".cache" / "okta-mcp-tutorial"


def _private_directory(prefix: str) -> Path:
    """A new folder (mode 0700) removed at exit, inside a folder only this user can write."""
    for base in _private_bases():
        try:
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = base.stat()
            if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
                continue
            directory = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
            break
        except OSError:  # no writable home (a locked-down container): the system's temporary folder
            continue
    else:
        directory = Path(tempfile.mkdtemp(prefix=f"okta-tutorial-{prefix}"))
    os.chmod(directory, 0o700)
    atexit.register(shutil.rmtree, directory, True)
    return directory
