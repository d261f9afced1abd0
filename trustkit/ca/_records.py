"""What issuing hands back and what a batch asks for."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..encoding import pem_encode
from ..profiles import Profile
from ..store import CertificateRecord

__all__ = ["Enrollment", "IssuedCertificate", "key_identifier"]


def key_identifier(public_key: x509.Certificate | object) -> str:
    """The CA identifier used in stores: the hex subject key identifier of its key."""
    if isinstance(public_key, x509.Certificate):
        try:
            return public_key.extensions.get_extension_for_class(
                x509.SubjectKeyIdentifier
            ).value.digest.hex()
        except x509.ExtensionNotFound:
            public_key = public_key.public_key()
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest.hex()  # type: ignore[arg-type]


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate just issued, with its store record and the chain above it."""

    certificate: x509.Certificate
    record: CertificateRecord
    chain: tuple[x509.Certificate, ...]
    """The issuing CA's certificate first, then up to the root."""

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    def pem(self) -> bytes:
        """The certificate as PEM."""
        return pem_encode("CERTIFICATE", self.certificate.public_bytes(Encoding.DER))

    def fullchain_pem(self) -> bytes:
        """The certificate followed by its chain, as a PEM bundle."""
        return self.pem() + b"".join(
            pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in self.chain
        )


@dataclass(frozen=True)
class Enrollment:
    """One certificate asked of the CA in a batch (:meth:`CertificateAuthority.issue_many`).

    The same choices as :meth:`CertificateAuthority.issue` takes for one.
    """

    csr: x509.CertificateSigningRequest
    """The request; its signature proves possession of the key (RFC 2986 section 3)."""
    profile: str | Profile = "tls-server"
    """The profile, by name or as an object."""
    days: int | None = None
    """Validity in days; the profile's default (capped by the CA's own) when ``None``."""
    sans: tuple[x509.GeneralName, ...] | None = None
    """Subject alternative names replacing the CSR's, if given."""
    subject: str | x509.Name | None = None
    """Subject replacing the CSR's, if given."""
