"""What judging a piece of revocation evidence needs to know, as one frozen value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptography import x509

from .._model import ValidationPolicy
from .._path import get_extension

__all__ = ["MAX_SIGNER_DEPTH", "Context", "SignerValidator", "is_ca", "safe_ext"]

E = TypeVar("E", bound=x509.ExtensionType)

MAX_SIGNER_DEPTH = 3
"""How deep CRL-signer and OCSP-responder paths may nest inside each other."""

SignerValidator = Callable[[x509.Certificate, x509.Certificate, int], str | None]
"""(signer certificate, trust anchor, depth) -> why the signer's path fails, or None."""


@dataclass(frozen=True)
class Context:
    """The validation a judge works for: its policy, its time, where signers may come
    from (the path-building pool and anchors), and how to validate one."""

    policy: ValidationPolicy
    at: datetime
    pool: Sequence[x509.Certificate]
    validate_signer: SignerValidator
    depth: int = 0


def safe_ext(cert: x509.Certificate, ext_type: type[E]) -> x509.Extension[E] | None:
    """The extension, ``None`` when absent or malformed (the path checks report that)."""
    try:
        return get_extension(cert, ext_type)
    except Exception:  # MalformedCertificate: treat as absent here; path checks report it
        return None


def is_ca(cert: x509.Certificate) -> bool:
    bc = safe_ext(cert, x509.BasicConstraints)
    return bc is not None and bc.value.ca
