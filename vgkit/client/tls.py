"""How clients trust https servers: the system's CAs plus an optional CA file.

A self-signed server certificate is its own CA, so its certificate file is the
CA file to trust it with (``PoolConfig(ca_file=...)`` or ``VGKIT_CA_FILE``).
"""

from __future__ import annotations

import ssl

from vgkit.errors import ConfigError

__all__ = ["client_context"]


def client_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """Verify servers against the system's trust store and, if given, ``ca_file``.

    ``verify=False`` accepts any certificate (a test bench, never production).
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
