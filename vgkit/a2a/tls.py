"""TLS for agent servers and the trust that clients put in them (both sides of A2A).

A2A asks for HTTPS in production. ``vgkit serve --tls-cert FILE --tls-key FILE``
serves every agent over TLS (cards then advertise ``https://`` URLs);
``--tls-self-signed`` makes a throwaway certificate for 127.0.0.1 and
localhost first, for experiments and benchmarks on one machine.

Clients verify certificates against the system's trust store plus, when one
is given, a CA file: ``PoolConfig(ca_file=...)`` or ``VGKIT_CA_FILE`` (a
self-signed certificate is its own CA, so its certificate file is the CA file).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vgkit.errors import ConfigError, ServeError

__all__ = ["TLSConfig", "client_context", "self_signed"]


def client_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """Verify servers against the system's trust store and, if given, ``ca_file``.

    A self-signed server certificate is its own CA, so its certificate file is
    the CA file to trust it with. ``verify=False`` accepts any certificate (a
    test bench, never production).
    """
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (ssl.SSLError, OSError) as exc:
            detail = getattr(exc, "strerror", None) or exc
            raise ConfigError(f"cannot load the CA file {ca_file}: {detail}") from None
    return context


@dataclass(frozen=True, kw_only=True)
class TLSConfig:
    """A server certificate chain and its private key (PEM files)."""

    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        """The server's SSL context (loaded once, shared by every agent server of a
        cluster); ServeError naming the file when it cannot load."""
        context: ssl.SSLContext | None = self.__dict__.get("_context")
        if context is None:
            context = self._load()
            object.__setattr__(self, "_context", context)
        return context

    def _load(self) -> ssl.SSLContext:
        for what, path in (("certificate", self.cert_file), ("key", self.key_file)):
            if not Path(path).is_file():
                raise ServeError(f"TLS {what} file {path} does not exist")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except (ssl.SSLError, OSError) as exc:
            raise ServeError(
                f"cannot load the TLS certificate {self.cert_file} with the key "
                f"{self.key_file}: {exc.strerror or exc}"
            ) from None
        return context


def self_signed(
    directory: str | Path | None = None, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> TLSConfig:
    """A new self-signed certificate for ``hosts`` (valid 30 days), written to ``directory``.

    ``cert.pem`` is also the CA file clients trust it with. Needs the
    ``cryptography`` package (``pip install 'vgkit[tls]'``).
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise ServeError(
            "a self-signed certificate needs the cryptography package: "
            "pip install 'vgkit[tls]' (or pass --tls-cert and --tls-key)"
        ) from None
    out = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="vgkit-tls-"))
    out.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = out / "cert.pem", out / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.touch(mode=0o600)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TLSConfig(cert_file=str(cert_file), key_file=str(key_file))
