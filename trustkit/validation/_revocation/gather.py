"""Gathering revocation evidence: the caller's CRLs and OCSP responses, and what the
certificate's own pointers fetch. The only I/O of revocation checking."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509 import ocsp

from .context import safe_ext

__all__ = ["CrlFetch", "Gatherer", "OcspFetch"]

CrlFetch = Callable[[str], x509.CertificateRevocationList | None]
"""URL -> a fetched CRL, or None."""

OcspFetch = Callable[[str, x509.Certificate, x509.Certificate], ocsp.OCSPResponse | None]
"""(responder URL, certificate, issuer) -> a fetched OCSP response, or None."""


@dataclass(frozen=True)
class Gatherer:
    """Where evidence comes from for one validation. Everything found is returned, in
    no meaningful order: the caller's evidence is not privileged over fetched
    evidence, and the decision reads it all (see ``decide``)."""

    crls: Sequence[x509.CertificateRevocationList]
    ocsp_responses: Sequence[ocsp.OCSPResponse]
    fetch_crl: CrlFetch | None = None
    fetch_ocsp: OcspFetch | None = None

    @property
    def empty(self) -> bool:
        """Nowhere to look: no evidence given and no fetching."""
        return not (self.crls or self.ocsp_responses or self.fetch_crl or self.fetch_ocsp)

    def crls_for(self, cert: x509.Certificate) -> list[x509.CertificateRevocationList]:
        """The caller's CRLs and those at the certificate's CRL distribution points
        and freshest-CRL pointers (RFC 5280 4.2.1.13, 4.2.1.15)."""
        found = list(self.crls)
        if self.fetch_crl is not None:
            points: list[x509.DistributionPoint] = []
            cdp = safe_ext(cert, x509.CRLDistributionPoints)
            freshest = safe_ext(cert, x509.FreshestCRL)
            points.extend(cdp.value if cdp is not None else ())
            points.extend(freshest.value if freshest is not None else ())
            for dp in points:
                for name in dp.full_name or ():
                    if isinstance(name, x509.UniformResourceIdentifier):
                        fetched = self.fetch_crl(name.value)
                        if fetched is not None:
                            found.append(fetched)
        return found

    def ocsp_for(self, cert: x509.Certificate, issuer: x509.Certificate) -> list[ocsp.OCSPResponse]:
        """The caller's OCSP responses and one from each responder the certificate's
        authorityInfoAccess names (RFC 6960 A.1)."""
        found = list(self.ocsp_responses)
        if self.fetch_ocsp is not None:
            aia = safe_ext(cert, x509.AuthorityInformationAccess)
            for desc in aia.value if aia is not None else ():
                if desc.access_method == x509.oid.AuthorityInformationAccessOID.OCSP and isinstance(
                    desc.access_location, x509.UniformResourceIdentifier
                ):
                    fetched = self.fetch_ocsp(desc.access_location.value, cert, issuer)
                    if fetched is not None:
                        found.append(fetched)
        return found
