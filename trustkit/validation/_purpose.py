"""Key usage and extended key usage per purpose (RFC 5280 4.2.1.3, 4.2.1.12)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..errors import InvalidPurposeError
from ..matching import hostname_matches
from ..names import format_name
from ._model import Purpose
from ._path import get_extension

__all__ = ["DOCUMENT_SIGNING_EKUS", "check_purpose"]

DOCUMENT_SIGNING_EKUS = frozenset(
    {
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # id-kp-documentSigning, RFC 9336
        x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),  # Microsoft document signing
        x509.ObjectIdentifier("1.2.840.113583.1.1.5"),  # Adobe PDF signing
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    }
)
"""EKUs accepted for document signing when the extension is present."""

_EKU_OF: dict[Purpose, x509.ObjectIdentifier] = {
    Purpose.TLS_SERVER: ExtendedKeyUsageOID.SERVER_AUTH,
    Purpose.TLS_CLIENT: ExtendedKeyUsageOID.CLIENT_AUTH,
    Purpose.CITIZEN_AUTH: ExtendedKeyUsageOID.CLIENT_AUTH,
    Purpose.CODE_SIGNING: ExtendedKeyUsageOID.CODE_SIGNING,
    Purpose.TIMESTAMPING: ExtendedKeyUsageOID.TIME_STAMPING,
    Purpose.OCSP_SIGNING: ExtendedKeyUsageOID.OCSP_SIGNING,
}


def _ku_has(ku: x509.KeyUsage, *names: str) -> bool:
    for name in names:
        if getattr(ku, name):
            return True
    return False


def check_purpose(path: Sequence[x509.Certificate], purpose: Purpose, hostname: str | None) -> None:
    """Raise :class:`InvalidPurposeError` when ``path[0]`` does not fit ``purpose``.

    CA certificates that carry an EKU must allow the purpose too (EKU
    chaining, as OpenSSL, NSS and browsers enforce it).
    """
    ee = path[0]

    def fail(index: int, message: str) -> InvalidPurposeError:
        subject = format_name(path[index].subject)
        return InvalidPurposeError(
            f"certificate {index} ({subject}): {message} for purpose {purpose.value}",
            path=path,
            index=index,
        )

    try:
        ku_ext = get_extension(ee, x509.KeyUsage)
        eku_ext = get_extension(ee, x509.ExtendedKeyUsage)
    except Exception as exc:  # MalformedCertificate
        raise fail(0, f"key usage cannot be parsed ({exc})") from None
    ku = ku_ext.value if ku_ext is not None else None
    ekus = frozenset(eku_ext.value) if eku_ext is not None else None
    anyeku = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE

    if purpose is Purpose.ANY:
        return

    wanted = _EKU_OF.get(purpose)
    if purpose is Purpose.TLS_SERVER:
        if ku is not None and not _ku_has(
            ku, "digital_signature", "key_encipherment", "key_agreement"
        ):
            raise fail(0, "keyUsage allows no TLS key exchange or signature")
        # CABF 7.1.2.7.10: anyExtendedKeyUsage does not stand in for serverAuth.
        if ekus is not None and wanted not in ekus:
            raise fail(0, "extendedKeyUsage lacks serverAuth")
        if hostname is not None:
            san_ext = get_extension(ee, x509.SubjectAlternativeName)
            san = list(san_ext.value) if san_ext is not None else []
            if not hostname_matches(san, hostname):
                raise fail(0, f"host name {hostname!r} is not in subjectAltName (RFC 9525 6.3)")
    elif purpose is Purpose.TLS_CLIENT:
        if ku is not None and not _ku_has(ku, "digital_signature", "key_agreement"):
            raise fail(0, "keyUsage lacks digitalSignature")
        if ekus is not None and wanted not in ekus:
            raise fail(0, "extendedKeyUsage lacks clientAuth")
    elif purpose is Purpose.CITIZEN_AUTH:
        if ku is None or not ku.digital_signature:
            raise fail(0, "keyUsage must be present with digitalSignature")
        if ekus is None or wanted not in ekus:
            raise fail(0, "extendedKeyUsage must be present with clientAuth")
    elif purpose is Purpose.DOCUMENT_SIGNING:
        # contentCommitment (nonRepudiation) is what signature laws ask of a signing
        # key; digitalSignature alone is also accepted, as S/MIME and PAdES do.
        if ku is not None and not _ku_has(ku, "content_commitment", "digital_signature"):
            raise fail(0, "keyUsage lacks contentCommitment and digitalSignature")
        if ekus is not None and not ekus & DOCUMENT_SIGNING_EKUS:
            raise fail(0, "extendedKeyUsage allows no document signing")
    elif purpose is Purpose.CODE_SIGNING:
        if ku is not None and not ku.digital_signature:
            raise fail(0, "keyUsage lacks digitalSignature")
        if ekus is None or wanted not in ekus:
            raise fail(0, "extendedKeyUsage must be present with codeSigning")
    elif purpose is Purpose.TIMESTAMPING:
        # RFC 3161 2.3: exactly one KeyPurposeId, id-kp-timeStamping, marked critical.
        if eku_ext is None or ekus != frozenset({wanted}) or len(eku_ext.value) != 1:
            raise fail(0, "extendedKeyUsage must hold only timeStamping (RFC 3161 2.3)")
        if not eku_ext.critical:
            raise fail(0, "extendedKeyUsage must be critical (RFC 3161 2.3)")
        if ku is not None and not _ku_has(ku, "digital_signature", "content_commitment"):
            raise fail(0, "keyUsage lacks digitalSignature")
    elif purpose is Purpose.OCSP_SIGNING:
        if ekus is None or wanted not in ekus:
            raise fail(0, "extendedKeyUsage must be present with OCSPSigning (RFC 6960 4.2.2.2)")
        if ku is not None and not _ku_has(ku, "digital_signature", "content_commitment"):
            raise fail(0, "keyUsage lacks digitalSignature")

    # EKU chaining: an intermediate that restricts EKUs must allow this purpose.
    for index in range(1, len(path) - 1):
        try:
            ca_eku = get_extension(path[index], x509.ExtendedKeyUsage)
        except Exception as exc:  # MalformedCertificate
            raise fail(index, f"extensions cannot be parsed ({exc})") from None
        if ca_eku is None:
            continue
        allowed = frozenset(ca_eku.value)
        if anyeku in allowed:
            continue
        if purpose is Purpose.DOCUMENT_SIGNING:
            if not allowed & DOCUMENT_SIGNING_EKUS:
                raise fail(index, "CA extendedKeyUsage excludes document signing")
        elif wanted is not None and wanted not in allowed:
            raise fail(index, f"CA extendedKeyUsage excludes {wanted.dotted_string}")
