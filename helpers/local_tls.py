"""HTTPS on this machine: a certificate authority made for this process, trusted by this process.

Okta serves every authorization server over HTTPS, and clients (oauthlib, Okta's own verifier
library) rightly refuse anything else. So the local authorization server is HTTPS too, with a
certificate from a certificate authority (CA) that ``trustme`` creates in memory when this
process first needs it:

- :func:`local_ca` makes the CA once per process and issues one server certificate for
  ``127.0.0.1``, ``localhost`` and ``::1``; the server's key and certificate are written to a
  private temporary folder (mode 0700) that is removed when the process exits. The CA's own
  private key is never written anywhere, so nothing else can issue certificates it vouches for.
- :func:`trust_local_ca` makes this process (and programs it starts, such as ``curl``) trust
  that CA *in addition to* the usual public ones: it writes a bundle of the roots trusted so far
  plus the local CA and points ``SSL_CERT_FILE`` (httpx, Python's ``ssl``), ``REQUESTS_CA_BUNDLE``
  (requests) and ``CURL_CA_BUNDLE`` (curl) at it. Certificate checks stay on everywhere; no
  ``verify=False``. :func:`trust_ca_file` does the same for any CA file (``OAUTH_CA_FILE``: the
  CA of a local server another process started, or of a proxy that inspects TLS).

A real Okta tenant needs none of this: its certificates chain to public roots.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["LocalCA", "local_ca", "trust_ca_file", "trust_local_ca", "TRUST_VARIABLES"]

#: The variables that tell HTTP clients which CA bundle to trust.
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
HOSTS = ("127.0.0.1", "localhost", "::1")


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
            directory = Path(tempfile.mkdtemp(prefix="okta-tutorial-tls-"))
            os.chmod(directory, 0o700)
            atexit.register(shutil.rmtree, directory, True)
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
    extra = Path(path).read_bytes()
    if b"-----BEGIN CERTIFICATE-----" not in extra:
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).")
    with _lock:
        current = _trusted_bundle.read_bytes() if _trusted_bundle is not None and _trusted_bundle.exists() else None
        if current is None or not all(os.environ.get(v) == str(_trusted_bundle) for v in TRUST_VARIABLES):
            previous = next((os.environ[v] for v in TRUST_VARIABLES if os.path.isfile(os.environ.get(v, ""))), None)
            current = Path(previous or certifi.where()).read_bytes()
        if extra.strip() not in current:
            current = current.rstrip(b"\n") + b"\n" + extra.strip() + b"\n"
        if _trusted_bundle is None:
            directory = Path(tempfile.mkdtemp(prefix="okta-tutorial-trust-"))
            atexit.register(shutil.rmtree, directory, True)
            _trusted_bundle = directory / "trusted-roots.pem"
        _trusted_bundle.write_bytes(current)
        for variable in TRUST_VARIABLES:
            os.environ[variable] = str(_trusted_bundle)
        return _trusted_bundle
