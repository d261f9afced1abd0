"""Making and checking one SignerInfo (RFC 5652 5.3-5.6).

Shared by document signatures (:mod:`trustkit.cms.sign`,
:mod:`trustkit.cms.verify`) and timestamp tokens (:mod:`trustkit.tsa`). The
private key is only ever asked to ``sign()`` the DER of the signed
attributes, so a key on a token (an HSM-backed subclass of cryptography's key
classes) signs exactly like a software key; no key bytes are read.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from .._asn1 import (
    EssCertId,
    ParsedSignerInfo,
    SignerTemplate,
    encode_signed_attributes,
    encode_signer_info,
    signed_attributes_from_template,
    signed_data_from_template,
    signer_template,
)
from ..errors import SignatureError
from ._algorithms import DigestAlgorithm, RSAPadding, crypto_hash

__all__ = [
    "PreparedSigner",
    "check_attributes",
    "check_signature",
    "check_signing_certificate",
    "find_signer_certificate",
    "load_embedded_certificates",
    "make_signer_info",
    "prepare_signer",
]


_Sign = Callable[[bytes], bytes]


def _check_key(
    key: PrivateKeyTypes, certificate: x509.Certificate, digest: DigestAlgorithm
) -> None:
    if key.public_key() != certificate.public_key():
        raise SignatureError("signer: the private key does not match the certificate's public key")
    if isinstance(key, ed25519.Ed25519PrivateKey) and digest is not DigestAlgorithm.SHA512:
        raise SignatureError(f"hash {digest.value}: Ed25519 signers must use sha512 (RFC 8419 3.1)")


def _scheme(
    key: PrivateKeyTypes, digest: DigestAlgorithm, rsa_padding: RSAPadding
) -> tuple[_Sign, str, str | None]:
    """How ``key`` signs the DER of the signed attributes: the function, the
    asn1crypto name of the signature algorithm, and the PSS hash (RFC 4056 3)."""
    chosen = crypto_hash(digest.value)
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        if rsa_padding is RSAPadding.PSS:
            pss: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(chosen), salt_length=digest.digest_size
            )
            return (lambda data: rsa_key.sign(data, pss, chosen)), "rsassa_pss", digest.value
        pkcs1 = padding.PKCS1v15()
        return (lambda data: rsa_key.sign(data, pkcs1, chosen)), f"{digest.value}_rsa", None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_key, ecdsa = key, ec.ECDSA(chosen)
        return (lambda data: ec_key.sign(data, ecdsa)), f"{digest.value}_ecdsa", None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # RFC 8419 3.1: PureEdDSA over the DER of the signed attributes.
        return key.sign, "ed25519", None
    raise SignatureError(
        f"signer: {type(key).__name__} keys cannot make CMS signatures "
        "(RSA, ECDSA or Ed25519 needed)"
    )


def make_signer_info(
    key: PrivateKeyTypes,
    certificate: x509.Certificate,
    *,
    digest: DigestAlgorithm,
    rsa_padding: RSAPadding,
    content_type: str,
    message_digest: bytes,
    signing_time: datetime | None,
) -> bytes:
    """DER of a SignerInfo whose signed attributes bind ``message_digest`` and the
    signer's certificate (ESS signing-certificate-v2, RFC 5035), signed by ``key``."""
    _check_key(key, certificate, digest)
    cert_der = certificate.public_bytes(Encoding.DER)
    attrs = encode_signed_attributes(
        content_type=content_type,
        message_digest=message_digest,
        signing_time=signing_time,
        cert_hash_algorithm=digest.value,
        cert_hash=hashlib.new(digest.value, cert_der).digest(),
        issuer=certificate.issuer.public_bytes(),
        serial=certificate.serial_number,
    )
    sign, algorithm, pss_hash = _scheme(key, digest, rsa_padding)
    return encode_signer_info(
        issuer=certificate.issuer.public_bytes(),
        serial=certificate.serial_number,
        digest_algorithm=digest.value,
        signed_attrs=attrs,
        signature_algorithm=algorithm,
        pss_hash=pss_hash,
        signature=sign(attrs),
    )


@dataclass(frozen=True)
class PreparedSigner:
    """A signer whose repeated DER is encoded once (:func:`prepare_signer`)."""

    sign: _Sign
    """Signs the DER of the signed attributes."""
    template: SignerTemplate

    def signed_data(
        self,
        *,
        content_type: str,
        content: bytes | None,
        message_digest: bytes,
        signing_time: datetime | None,
    ) -> bytes:
        """DER of a ContentInfo of SignedData with one SignerInfo, as
        :func:`make_signer_info` and ``encode_signed_data`` would make it."""
        attrs = signed_attributes_from_template(
            self.template,
            content_type=content_type,
            message_digest=message_digest,
            signing_time=signing_time,
        )
        return signed_data_from_template(
            self.template,
            content_type=content_type,
            content=content,
            signed_attrs=attrs,
            signature=self.sign(attrs),
        )


def prepare_signer(
    key: PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    digest: DigestAlgorithm,
    rsa_padding: RSAPadding,
) -> PreparedSigner:
    """Check ``key`` against ``certificate`` and encode the certificate set, the sid,
    the algorithms and the ESS signing-certificate-v2 attribute once."""
    _check_key(key, certificate, digest)
    sign, algorithm, pss_hash = _scheme(key, digest, rsa_padding)
    cert_der = certificate.public_bytes(Encoding.DER)
    template = signer_template(
        issuer=certificate.issuer.public_bytes(),
        serial=certificate.serial_number,
        digest_algorithm=digest.value,
        certificates=[cert_der, *(c.public_bytes(Encoding.DER) for c in chain)],
        signature_algorithm=algorithm,
        pss_hash=pss_hash,
        cert_hash=hashlib.new(digest.value, cert_der).digest(),
    )
    return PreparedSigner(sign, template)


MAX_PARSED_CERTIFICATES = 512
"""Embedded certificates kept parsed, by DER (signers and their chains recur)."""


@functools.lru_cache(maxsize=MAX_PARSED_CERTIFICATES)
def _load_certificate(der: bytes) -> x509.Certificate:
    # The same object for the same DER lets validation reuse what it parsed from it.
    # Failures raise and are not cached.
    with warnings.catch_warnings():
        # cryptography warns of a serial number that is not positive, and means to
        # refuse it (RFC 5280 4.1.2.2: MUST be positive): refused here already.
        warnings.simplefilter("error", CryptographyDeprecationWarning)
        try:
            cert = x509.load_der_x509_certificate(der)
        except CryptographyDeprecationWarning as exc:
            raise ValueError(f"{exc} (RFC 5280 4.1.2.2)") from None
    cert.subject.public_bytes()
    cert.issuer.public_bytes()
    len(cert.extensions)
    cert.public_key()
    cert.signature_algorithm_oid  # noqa: B018
    return cert


def load_embedded_certificates(ders: Sequence[bytes], what: str) -> tuple[x509.Certificate, ...]:
    """The certificates carried in a SignedData, parsed eagerly.

    cryptography decodes names and extensions lazily; touching them here turns a
    malformed certificate into one :class:`SignatureError` instead of a stray
    ``ValueError`` deep inside path validation. Parsed certificates are kept in a
    bounded cache keyed by their DER.
    """
    certificates = []
    for index, der in enumerate(ders):
        try:
            cert = _load_certificate(bytes(der))
        except (
            ValueError,
            # cryptography raises TypeError for a name attribute typed BIT STRING.
            TypeError,
            UnsupportedAlgorithm,
            x509.InvalidVersion,
            x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType,
        ) as exc:
            raise SignatureError(f"{what}: certificate {index} cannot be parsed ({exc})") from exc
        certificates.append(cert)
    return tuple(certificates)


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def _name_der(name: x509.Name) -> bytes:
    """The DER of a Name, a pure function of it (signers' issuers recur)."""
    return name.public_bytes()


def find_signer_certificate(
    signer: ParsedSignerInfo, certificates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate that the SignerInfo's sid names (RFC 5652 5.3), if one is given."""
    for cert in certificates:
        if signer.sid_key_id is not None:
            if _subject_key_id(cert) == signer.sid_key_id:
                return cert
        elif (
            cert.serial_number == signer.sid_serial and _name_der(cert.issuer) == signer.sid_issuer
        ):
            return cert
    return None


def check_attributes(
    signer: ParsedSignerInfo, *, content_type: str, content_digest: bytes | None
) -> None:
    """The content-type and message-digest attributes against the content (RFC 5652 5.4)."""
    if signer.signed_attrs is None:
        return
    if signer.duplicate_attributes:
        raise SignatureError(
            "signed attributes: "
            + ", ".join(sorted(set(signer.duplicate_attributes)))
            + " must appear once with one value (RFC 5652 11)"
        )
    if signer.content_type is None:
        raise SignatureError("signed attributes: content-type missing (RFC 5652 11.1)")
    if signer.content_type != content_type:
        raise SignatureError(
            f"signed attributes: content-type {signer.content_type} differs from "
            f"eContentType {content_type} (RFC 5652 11.1)"
        )
    if signer.message_digest is None:
        raise SignatureError("signed attributes: message-digest missing (RFC 5652 11.2)")
    if content_digest is not None and signer.message_digest != content_digest:
        raise SignatureError(
            "content: does not match the message-digest attribute; it was changed (RFC 5652 11.2)"
        )


def _verify_hash(signer: ParsedSignerInfo) -> hashes.HashAlgorithm:
    return crypto_hash(signer.signature_hash or signer.digest_algorithm)


def check_signature(
    signer: ParsedSignerInfo, certificate: x509.Certificate, *, content_digest: bytes | None
) -> None:
    """The signature value with the certificate's key: over the signed attributes, or
    (without them, RFC 5652 5.4) over the content digest, which EdDSA cannot use."""
    public = certificate.public_key()
    signed = signer.signed_attrs
    crypto_hash(signer.digest_algorithm)
    if signed is None and content_digest is None:
        raise SignatureError("signature: no signed attributes and no content to check against")
    try:
        if signer.signature_algorithm == "ed25519":
            if not isinstance(public, ed25519.Ed25519PublicKey):
                raise SignatureError("signature: Ed25519 signature but the key is not Ed25519")
            if signed is None:
                raise SignatureError(
                    "signature: Ed25519 without signed attributes is not supported (RFC 8419 3.1)"
                )
            public.verify(signer.signature, signed)
            return
        chosen = _verify_hash(signer)
        data, prehashed = (signed, False) if signed is not None else (content_digest, True)
        assert data is not None
        algorithm: hashes.HashAlgorithm | object = chosen
        if prehashed:
            from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

            algorithm = Prehashed(chosen)
        if signer.signature_algorithm in ("rsassa_pkcs1v15", "rsassa_pss"):
            if not isinstance(public, rsa.RSAPublicKey):
                raise SignatureError("signature: RSA signature but the key is not RSA")
            if signer.signature_algorithm == "rsassa_pss":
                mgf_hash = crypto_hash(signer.pss_mgf_hash or "")
                scheme: padding.AsymmetricPadding = padding.PSS(
                    mgf=padding.MGF1(mgf_hash), salt_length=signer.pss_salt_length or 0
                )
            else:
                scheme = padding.PKCS1v15()
            public.verify(signer.signature, data, scheme, algorithm)  # type: ignore[arg-type]
        elif signer.signature_algorithm == "ecdsa":
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise SignatureError("signature: ECDSA signature but the key is not EC")
            public.verify(signer.signature, data, ec.ECDSA(algorithm))  # type: ignore[arg-type]
        else:
            raise SignatureError(
                f"signature algorithm {signer.signature_algorithm}: not supported "
                "(RSA, RSA-PSS, ECDSA or Ed25519)"
            )
    except InvalidSignature:
        raise SignatureError(
            "signature: does not verify with the signer's public key (RFC 5652 5.6)"
        ) from None
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        raise SignatureError(f"signature: cannot be checked ({exc})") from exc


def _ess_matches(cert_id: EssCertId, certificate: x509.Certificate, cert_der: bytes) -> bool:
    try:
        digest = hashlib.new(cert_id.hash_algorithm, cert_der).digest()
    except (ValueError, TypeError):
        return False
    if digest != cert_id.cert_hash:
        return False
    if cert_id.issuer_serial is None:
        return True
    issuer, serial = cert_id.issuer_serial
    return serial == certificate.serial_number and issuer == _name_der(certificate.issuer)


def check_signing_certificate(signer: ParsedSignerInfo, certificate: x509.Certificate) -> bool:
    """The ESS signing-certificate(-v2) binding to ``certificate`` (RFC 5035 3, RFC 2634 5.4).

    Returns ``False`` when the attribute is absent; raises when it names another
    certificate. The first ESSCertID names the signer's certificate (RFC 5035 5.4).
    """
    if signer.ess_version is None:
        return False
    if not signer.ess_cert_ids:
        raise SignatureError("signing-certificate: lists no certificate (RFC 5035 5.4)")
    first = signer.ess_cert_ids[0]
    if first.hash_algorithm in ("md5",):
        raise SignatureError(f"signing-certificate: hash {first.hash_algorithm} not accepted")
    if not _ess_matches(first, certificate, certificate.public_bytes(Encoding.DER)):
        raise SignatureError(
            f"signing-certificate-v{signer.ess_version}: does not name the certificate that "
            "signed (hash or issuer/serial differ, RFC 5035 5.4)"
        )
    return True
