"""Certificate facts cryptography leaves unrecognised or does not report."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError
from ._der import _element

# --- validation (policyMappings, which cryptography leaves unrecognised) ---


def decode_policy_mappings(der: bytes) -> list[tuple[str, str]]:
    """PolicyMappings (RFC 5280 4.2.1.5) as (issuerDomainPolicy, subjectDomainPolicy) OIDs."""
    from asn1crypto import x509 as asn1_x509

    try:
        parsed = asn1_x509.PolicyMappings.load(der)
        pairs = [
            (m["issuer_domain_policy"].dotted, m["subject_domain_policy"].dotted) for m in parsed
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"policyMappings: not a valid SEQUENCE OF PolicyMapping ({exc})") from exc
    return pairs


@dataclass(frozen=True)
class CertificateEncoding:
    """How a certificate is encoded, where cryptography does not say."""

    signature_algorithms_match: bool
    """signatureAlgorithm equals the TBSCertificate signature field (RFC 5280 4.1.1.2)."""
    validity_times_well_encoded: bool
    """No GeneralizedTime for a year UTCTime can hold, 1950 to 2049 (RFC 5280 4.1.2.5)."""
    issuer: bytes
    """The issuer Name as encoded (its whole DER element): a key for what is derived from
    the name alone, so that the name is parsed once however many certificates carry it."""
    subject: bytes
    """The subject Name as encoded (its whole DER element)."""
    public_key_info: bytes
    """The subjectPublicKeyInfo as encoded (its whole DER element)."""

    @property
    def subject_empty(self) -> bool:
        """The subject is the empty SEQUENCE (RFC 5280 4.1.2.6: the names are in
        subjectAltName)."""
        return self.subject == b"\x30\x00"  # DER: one form only (X.690 10.1)


def certificate_encoding(der: bytes) -> CertificateEncoding:
    """Encoding facts of a DER certificate that cryptography has already parsed.

    cryptography has checked the structure, so only the outer headers are walked
    here: asn1crypto took longer to decode the whole certificate than validation
    takes for everything else.
    """
    try:
        _, start, _ = _element(der, 0, "Certificate")
        _, tbs_start, tbs_end = _element(der, start, "TBSCertificate")
        _, _, outer_end = _element(der, tbs_end, "signatureAlgorithm")
        tag, _, end = _element(der, tbs_start, "version")
        position = end if tag == 0xA0 else tbs_start  # [0] EXPLICIT version, DEFAULT v1
        _, _, position = _element(der, position, "serialNumber")
        _, _, signature_end = _element(der, position, "signature")
        same = der[position:signature_end] == der[tbs_end:outer_end]
        _, _, issuer_end = _element(der, signature_end, "issuer")
        tag, time_at, validity_end = _element(der, issuer_end, "validity")
        if tag != 0x30:
            raise ValueError("validity: not a SEQUENCE")
        well_encoded = True
        for _ in range(2):
            tag, value_start, time_at = _element(der, time_at, "validity")
            if tag == 0x18:  # GeneralizedTime: YYYY first
                year = int(der[value_start : value_start + 4].decode("ascii"))
                if 1950 <= year < 2050:
                    well_encoded = False
            elif tag != 0x17:  # UTCTime
                raise ValueError("validity: not a UTCTime or GeneralizedTime")
        if time_at != validity_end:
            raise ValueError("validity: more than two times")
        tag, _, subject_end = _element(der, validity_end, "subject")
        if tag != 0x30 or subject_end > tbs_end:
            raise ValueError("subject: not a SEQUENCE inside the TBSCertificate")
        _, _, key_end = _element(der, subject_end, "subjectPublicKeyInfo")
        if key_end > tbs_end:
            raise ValueError("subjectPublicKeyInfo: outside the TBSCertificate")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"certificate: cannot be decoded ({exc})") from exc
    return CertificateEncoding(
        same,
        well_encoded,
        issuer=der[signature_end:issuer_end],
        subject=der[validity_end:subject_end],
        public_key_info=der[subject_end:key_end],
    )
