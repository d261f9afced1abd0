"""CMS SignedData signing: CAdES baseline B-B, and B-T with a signature timestamp.

Each signature carries the signed attributes content-type, message-digest,
signing-time and ESS signing-certificate-v2 (RFC 5035), which is what ETSI
EN 319 122-1 calls a CAdES baseline B-B signature, and the signer's
certificate with its chain. With a :class:`~trustkit.tsa.Timestamper` the
signature value is timestamped (RFC 3161 appendix A) and the token added as
the unsigned attribute id-aa-signatureTimeStampToken: CAdES B-T.

The content is hashed in chunks from a stream, so a detached signature of a
1 GiB file takes constant memory; an attached signature holds the content.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from .._asn1 import (
    ID_AA_TIMESTAMP_TOKEN,
    ID_DATA,
    ParsedSignedData,
    add_signer_info,
    add_unsigned_attribute,
    parse_signed_data,
)
from ..clock import utc
from ..encoding import read_blocks
from ..errors import SignatureError
from ._algorithms import (
    DigestAlgorithm,
    ProgressCallback,
    RSAPadding,
    default_digest_for,
    digest_stream,
    digest_streams,
)
from ._signer import PreparedSigner, make_signer_info, prepare_signer

if TYPE_CHECKING:
    # Only for annotations: trustkit.tsa imports this package's helpers.
    from ..tsa import Timestamper

__all__ = ["Content", "Signer", "add_timestamp", "cosign", "load_signature", "sign"]

Content = bytes | BinaryIO
"""What is signed: the bytes, or a binary stream read to its end (a file opened ``"rb"``)."""

_SIGNATURE_LABELS = ("CMS", "PKCS7", "PKCS #7 SIGNED DATA")


@dataclass(frozen=True)
class Signer:
    """Who signs, and how: a private key, its certificate and the chain above it."""

    key: PrivateKeyTypes
    """Any cryptography private key, including HSM-backed ones: only ``sign()`` is called."""
    certificate: x509.Certificate
    """The signer's certificate; its public key must be the key's."""
    chain: tuple[x509.Certificate, ...] = field(default=())
    """Issuing CA certificates up to (optionally including) the root, included in the
    signature so a verifier needs only the trust anchor."""
    digest: DigestAlgorithm | None = None
    """The message digest; ``None`` picks one matching the key (SHA-512 for Ed25519)."""
    rsa_padding: RSAPadding = RSAPadding.PKCS1V15
    """The RSA signature scheme; ignored for other keys."""

    def __post_init__(self) -> None:
        if not isinstance(self.certificate, x509.Certificate):
            raise TypeError("certificate: expected a cryptography x509.Certificate")
        object.__setattr__(self, "chain", tuple(self.chain))
        if not all(isinstance(c, x509.Certificate) for c in self.chain):
            raise TypeError("chain: expected cryptography x509.Certificate objects")
        if self.digest is not None and not isinstance(self.digest, DigestAlgorithm):
            raise TypeError("digest: expected a DigestAlgorithm")
        if not isinstance(self.rsa_padding, RSAPadding):
            raise TypeError("rsa_padding: expected an RSAPadding")

    @property
    def digest_algorithm(self) -> DigestAlgorithm:
        """The digest actually used."""
        return self.digest if self.digest is not None else default_digest_for(self.key)

    def certificates_der(self) -> list[bytes]:
        """DER of the certificate and its chain, in that order."""
        return [c.public_bytes(Encoding.DER) for c in (self.certificate, *self.chain)]

    @cached_property
    def _prepared(self) -> PreparedSigner:
        # What every signature by this signer repeats, encoded on first use; a key that
        # does not match the certificate raises here, at signing time, and is not cached.
        return prepare_signer(
            self.key,
            self.certificate,
            self.chain,
            digest=self.digest_algorithm,
            rsa_padding=self.rsa_padding,
        )


def load_signature(data: bytes) -> bytes:
    """The DER of a CMS signature given as DER or PEM (``CMS`` or ``PKCS7`` label)."""
    blocks = read_blocks(data, what="CMS signature")
    for block in blocks:
        if block.label is None or block.label in _SIGNATURE_LABELS:
            return block.der
    raise SignatureError("CMS signature: no CMS or PKCS7 PEM block found (RFC 7468 9)")


def _stream(content: Content) -> BinaryIO:
    if isinstance(content, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(content))
    return content


def _read_all(content: Content) -> bytes:
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    return content.read()


def _signer_info(signer: Signer, digest: bytes, at: datetime) -> bytes:
    return make_signer_info(
        signer.key,
        signer.certificate,
        digest=signer.digest_algorithm,
        rsa_padding=signer.rsa_padding,
        content_type=ID_DATA,
        message_digest=digest,
        signing_time=utc(at).replace(microsecond=0),
    )


def sign(
    content: Content,
    signer: Signer,
    *,
    at: datetime,
    attached: bool = False,
    timestamper: Timestamper | None = None,
    progress: ProgressCallback | None = None,
) -> bytes:
    """Sign ``content``; the DER of a CMS ContentInfo of SignedData (RFC 5652 5).

    ``at`` is the signing-time attribute. The signature is detached unless
    ``attached``. With a ``timestamper`` the signature value is timestamped
    (CAdES B-T). ``progress`` is called with the byte count of each chunk hashed.
    """
    algorithm = signer.digest_algorithm
    data = _read_all(content) if attached else None
    if data is not None or isinstance(content, bytes | bytearray | memoryview):
        whole = data if data is not None else content
        digest = hashlib.new(algorithm.value, whole).digest()  # type: ignore[arg-type]
        if progress is not None:
            progress(len(whole))  # type: ignore[arg-type]
    else:
        digest = digest_stream(content, algorithm, progress=progress)
    der = signer._prepared.signed_data(
        content_type=ID_DATA,
        content=data,
        message_digest=digest,
        signing_time=utc(at).replace(microsecond=0),
    )
    if timestamper is not None:
        der = add_timestamp(der, timestamper, signer_index=0)
    return der


def _check_content_matches(parsed: ParsedSignedData, digests: dict[str, bytes]) -> None:
    for index, existing in enumerate(parsed.signers):
        expected = digests.get(existing.digest_algorithm)
        if existing.message_digest is not None and expected is not None:
            if existing.message_digest != expected:
                raise SignatureError(
                    f"co-sign: the content differs from the one signer {index} signed "
                    "(message-digest mismatch, RFC 5652 11.2)"
                )


def cosign(
    signature: bytes,
    content: Content | None,
    signer: Signer,
    *,
    at: datetime,
    timestamper: Timestamper | None = None,
    progress: ProgressCallback | None = None,
) -> bytes:
    """Add ``signer`` to an existing signature (PEM or DER) of the same content.

    The SignerInfos already present are kept byte for byte; the new signer's
    certificates and digest algorithm are added. ``content`` is ``None`` for
    an attached signature. Refuses content that another signer's
    message-digest shows to be different.
    """
    der = load_signature(signature)
    parsed = parse_signed_data(der)
    if parsed.content_type != ID_DATA:
        raise SignatureError(
            f"co-sign: eContentType {parsed.content_type} is not id-data (RFC 5652 4)"
        )
    if parsed.content is not None:
        stream: BinaryIO = io.BytesIO(parsed.content)
    elif content is None:
        raise SignatureError("co-sign: a detached signature needs the content it signs")
    else:
        stream = _stream(content)
    algorithm = signer.digest_algorithm
    wanted = [algorithm.value, *(s.digest_algorithm for s in parsed.signers)]
    accepted = [name for name in wanted if name in {d.value for d in DigestAlgorithm}]
    digests = digest_streams(stream, accepted, progress=progress)
    _check_content_matches(parsed, digests)
    result = add_signer_info(
        der,
        digest_algorithm=algorithm.value,
        certificates=signer.certificates_der(),
        signer_info=_signer_info(signer, digests[algorithm.value], at),
    )
    if timestamper is not None:
        # SignerInfos is a SET OF, which DER sorts: find the new one by its signature.
        known = {s.signature for s in parsed.signers}
        signers = parse_signed_data(result).signers
        index = next(i for i, s in enumerate(signers) if s.signature not in known)
        result = add_timestamp(result, timestamper, signer_index=index)
    return result


def add_timestamp(
    signature: bytes, timestamper: Timestamper, *, signer_index: int | None = None
) -> bytes:
    """Timestamp the signature value of one signer (every signer when ``None``) and add the
    token as id-aa-signatureTimeStampToken (RFC 3161 appendix A, CAdES B-T)."""
    der = load_signature(signature)
    parsed = parse_signed_data(der)
    indexes: Sequence[int] = range(len(parsed.signers)) if signer_index is None else (signer_index,)
    for index in indexes:
        if not 0 <= index < len(parsed.signers):
            raise SignatureError(f"signer {index}: no such SignerInfo")
        signer = parsed.signers[index]
        algorithm = (
            DigestAlgorithm(signer.digest_algorithm)
            if signer.digest_algorithm in {d.value for d in DigestAlgorithm}
            else DigestAlgorithm.SHA256
        )
        token = timestamper.timestamp(digest_of(signer.signature, algorithm), algorithm)
        der = add_unsigned_attribute(der, index, ID_AA_TIMESTAMP_TOKEN, token)
    return der


def digest_of(data: bytes, algorithm: DigestAlgorithm) -> bytes:
    """The ``algorithm`` digest of ``data``."""
    return hashlib.new(algorithm.value, data).digest()
