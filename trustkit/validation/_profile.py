"""The web PKI certificate profile (CA/Browser Forum Baseline Requirements 7.1 and
the RFC 5280 MUSTs they restate), applied to paths validated for TLS purposes."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from ..errors import DecodeError, PathValidationError
from ..matching import common_name_problem, wildcard_over_public_suffix
from ..names import format_name
from ._cache import facts_of
from ._crypto import certificate_signed_by
from ._model import Purpose, WebProfile
from ._path import is_self_issued

__all__ = ["WEB_PURPOSES", "check_web_profile"]

WEB_PURPOSES = frozenset({Purpose.TLS_SERVER, Purpose.TLS_CLIENT})
"""Purposes whose paths must also meet the web PKI profile."""

_WEB_HASHES = frozenset({"sha256", "sha384", "sha512"})
_WEB_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
_TLS_SERVER_EKUS = frozenset({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH})
"""What a TLS server certificate's extendedKeyUsage may hold (CABF 7.1.2.7.10)."""
MAX_SERIAL_OCTETS = 21
"""20 octets (RFC 5280 4.1.2.2), plus the sign octet that 20 random bytes can need."""


def _self_signed(cert: x509.Certificate) -> bool:
    """Whether ``cert``'s own key verifies its signature, whatever its names say."""
    memo = facts_of(cert).memo
    if "self-signed" not in memo:
        memo["self-signed"] = certificate_signed_by(cert, facts_of(cert).key)
    return bool(memo["self-signed"])


def _problem(cert: x509.Certificate, is_ee: bool, is_anchor: bool, purpose: Purpose) -> str | None:
    """The first rule of the profile that ``cert`` breaks in its role, or ``None``.

    ``is_anchor``: the trust anchor, trusted as given; some rules for CA
    certificates are about how CAs issue, and a root is not issued.
    """
    if cert.version is not x509.Version.v3:
        return "must be an X.509 v3 certificate (CABF 7.1.1)"
    facts = facts_of(cert)
    serial = facts.serial
    # Serials bind the issuer; a root's was never checked by anyone (Starfield Root
    # Certificate Authority - G2, still trusted, has serial 0).
    if serial <= 0 and not is_anchor:
        return "serial number must be positive (RFC 5280 4.1.2.2, CABF 7.1)"
    if (serial.bit_length() // 8 + 1) > MAX_SERIAL_OCTETS and not is_anchor:
        return "serial number is longer than 20 octets (RFC 5280 4.1.2.2)"
    try:
        times_ok = facts.encoding.validity_times_well_encoded
    except DecodeError:
        times_ok = False
    if not times_ok:
        return "validity dates before 2050 must be UTCTime (RFC 5280 4.1.2.5)"
    if not facts.issuer_norm:  # normalized once per encoding, shared with path building
        return "issuer must be a non-empty name (RFC 5280 4.1.2.4)"
    exts = facts.extensions_by_oid()

    aia = exts.get(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if aia is not None and aia.critical:
        return "authorityInfoAccess must not be critical (RFC 5280 4.2.2.1)"
    aki = exts.get(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is not None and aki.critical:
        return "authorityKeyIdentifier must not be critical (RFC 5280 4.2.1.1)"
    ski = exts.get(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if ski is not None and ski.critical and not is_ee:
        return "subjectKeyIdentifier must not be critical (RFC 5280 4.2.1.2)"
    eku = exts.get(ExtensionOID.EXTENDED_KEY_USAGE)
    if eku is not None and eku.critical:
        return "extendedKeyUsage must not be critical (CABF 7.1.2.7.10)"
    ku = exts.get(ExtensionOID.KEY_USAGE)
    bc = exts.get(ExtensionOID.BASIC_CONSTRAINTS)
    nc = exts.get(ExtensionOID.NAME_CONSTRAINTS)

    if is_ee:
        if aki is None:
            return "authorityKeyIdentifier is required (RFC 5280 4.2.1.1)"
        if isinstance(eku, x509.Extension) and isinstance(eku.value, x509.ExtendedKeyUsage):
            if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku.value:
                return "extendedKeyUsage must not contain anyExtendedKeyUsage (CABF 7.1.2.7.10)"
            others = [oid for oid in eku.value if oid not in _TLS_SERVER_EKUS]
            if purpose is Purpose.TLS_SERVER and others:
                return (
                    f"extendedKeyUsage {others[0].dotted_string} beside serverAuth "
                    "(CABF 7.1.2.7.10: serverAuth and clientAuth only)"
                )
        if isinstance(bc, x509.Extension) and isinstance(bc.value, x509.BasicConstraints):
            if bc.value.ca:
                return "an end entity must not assert cA (CABF 7.1.2.7.8)"
        if isinstance(ku, x509.Extension) and isinstance(ku.value, x509.KeyUsage):
            if ku.value.key_cert_sign:
                return "an end entity must not assert keyCertSign"
        if nc is not None:
            return "an end entity must not carry nameConstraints"
        san = exts.get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if san is None:
            return "subjectAltName is required (CABF 7.1.2.7.12)"
        if purpose is Purpose.TLS_SERVER and san.critical == (not facts.subject_empty):
            return (
                "subjectAltName must be critical exactly when the subject is empty "
                "(RFC 5280 4.2.1.6)"
            )
        return None

    # CA certificates, the trust anchor included.
    if bc is None or not isinstance(bc.value, x509.BasicConstraints) or not bc.value.ca:
        return "a CA certificate needs basicConstraints with cA (RFC 5280 4.2.1.9)"
    if not bc.critical:
        return "basicConstraints must be critical in a CA (RFC 5280 4.2.1.9)"
    if ku is None and not is_anchor:
        return "a CA certificate needs keyUsage (RFC 5280 4.2.1.3)"
    if ku is not None and isinstance(ku.value, x509.KeyUsage) and not ku.value.key_cert_sign:
        return "a CA certificate needs keyUsage keyCertSign"
    if ski is None:
        return "a CA certificate needs subjectKeyIdentifier (RFC 5280 4.2.1.2)"
    self_signed = is_self_issued(cert) or _self_signed(cert)
    is_root = is_anchor and self_signed
    if aki is None and not self_signed:
        # 4.2.1.1 exempts only self-signed certificates: a cross-certificate, even one
        # trusted as an anchor, names its issuer's key.
        return "authorityKeyIdentifier is required unless self-signed (RFC 5280 4.2.1.1)"
    for oid, label, clause in (
        (ExtensionOID.POLICY_CONSTRAINTS, "policyConstraints", "4.2.1.11"),
        (ExtensionOID.INHIBIT_ANY_POLICY, "inhibitAnyPolicy", "4.2.1.14"),
    ):
        found = exts.get(oid)
        if found is not None and not found.critical:
            return f"{label} must be critical (RFC 5280 {clause})"
    if is_root and eku is not None:
        return "a root CA certificate must not carry extendedKeyUsage (CABF 7.1.2.1.2)"
    if (
        is_root
        and isinstance(aki, x509.Extension)
        and isinstance(aki.value, x509.AuthorityKeyIdentifier)
        and isinstance(ski.value, x509.SubjectKeyIdentifier)
        and aki.value.key_identifier not in (None, ski.value.digest)
    ):
        return "a root's authorityKeyIdentifier must be its subjectKeyIdentifier (CABF 7.1.2.1.3)"
    if aki is not None and isinstance(aki.value, x509.AuthorityKeyIdentifier):
        if aki.value.key_identifier is None:
            return "authorityKeyIdentifier needs keyIdentifier (CABF 7.1.2.11.1)"
        if (
            aki.value.authority_cert_issuer is not None
            or aki.value.authority_cert_serial_number is not None
        ):
            return "authorityKeyIdentifier must not name issuer and serial (CABF 7.1.2.11.1)"
    if nc is not None and isinstance(nc.value, x509.NameConstraints):
        if not nc.value.permitted_subtrees and not nc.value.excluded_subtrees:
            return "nameConstraints must not be empty (RFC 5280 4.2.1.10)"
    key = facts_of(cert).key
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return "CA keys must be RSA or ECDSA (CABF 7.1.3.1)"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in _WEB_CURVES:
        return f"curve {key.curve.name} is not allowed (CABF 7.1.3.1)"
    return None


def _strict_problem(cert: x509.Certificate, is_ee: bool, purpose: Purpose) -> str | None:
    """The first rule that only :attr:`WebProfile.STRICT` holds ``cert`` to, or ``None``.

    Each is a Baseline Requirement that browsers do not enforce on relying parties'
    behalf (docs/security.md says why each is not in the default).
    """
    exts = facts_of(cert).extensions_by_oid()
    key = facts_of(cert).key
    if isinstance(key, rsa.RSAPublicKey) and key.key_size % 8:
        return f"RSA modulus of {key.key_size} bits is not a multiple of 8 (CABF 6.1.5)"
    nc = exts.get(ExtensionOID.NAME_CONSTRAINTS)
    if nc is not None and not nc.critical:
        return "nameConstraints must be critical (RFC 5280 4.2.1.10)"
    if not is_ee:
        return None
    if exts.get(ExtensionOID.EXTENDED_KEY_USAGE) is None:
        return "extendedKeyUsage is required (CABF 7.1.2.7.10)"
    san = exts.get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    names = (
        list(san.value)
        if san is not None and isinstance(san.value, x509.SubjectAlternativeName)
        else []
    )
    for name in names:
        if not isinstance(name, x509.DNSName):
            continue
        if "_" in name.value:
            return f"dNSName {name.value!r} holds an underscore (CABF 7.1.2.7.12, RFC 5280 4.2.1.6)"
        if wildcard_over_public_suffix(name.value, icann_only=False):
            return f"dNSName {name.value!r} is a wildcard over a public suffix (CABF 3.2.2.6)"
    if purpose is Purpose.TLS_SERVER:
        problem = common_name_problem(cert.subject, names)
        if problem is not None:
            return problem
    return None


def check_web_profile(
    path: Sequence[x509.Certificate],
    purpose: Purpose,
    profile: WebProfile = WebProfile.BROWSER,
) -> None:
    """Raise :class:`PathValidationError` where ``path`` breaks the web PKI profile, as
    much of it as ``profile`` holds paths to."""

    def fail(index: int, message: str) -> PathValidationError:
        subject = format_name(path[index].subject)
        return PathValidationError(
            f"certificate {index} ({subject}): {message} (web PKI profile for {purpose.value})",
            path=path,
            index=index,
        )

    for index, cert in enumerate(path):
        is_ee = index == 0 and len(path) > 1
        is_anchor = index == len(path) - 1
        memo = facts_of(cert).memo
        memo_key = ("web profile", is_ee, is_anchor, purpose, profile)
        if memo_key not in memo:  # a function of the certificate, its role, purpose, profile
            found = _problem(cert, is_ee, is_anchor, purpose)
            if found is None and profile is WebProfile.STRICT:
                found = _strict_problem(cert, is_ee, purpose)
            memo[memo_key] = found
        problem = memo[memo_key]
        if problem is not None:
            raise fail(index, str(problem))

    for index, cert in enumerate(path[:-1]):
        hash_algorithm = cert.signature_hash_algorithm
        if hash_algorithm is None or hash_algorithm.name not in _WEB_HASHES:
            raise fail(index, "signature algorithm is not allowed (CABF 7.1.3.2)")
