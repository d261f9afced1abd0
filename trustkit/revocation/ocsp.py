"""An OCSP responder: request bytes and a time in, response bytes out (RFC 6960, RFC 5019).

::

    responder = OCSPResponder([root, issuing_ca], passphrase=b"...")
    response_der = responder.respond(request_der, at=clock.now())

The responder answers for every CA it is given, straight from their stores:
``good`` for a certificate the CA issued and has not revoked, ``revoked``
with time and reason, and ``unknown`` for a serial the CA never issued (never
``good``: RFC 6960 2.2). A request naming an issuer it does not serve gets
``unauthorized``; bytes that are not an OCSP request get ``malformedRequest``.
Nothing raises out of :meth:`OCSPResponder.respond`.

A message may carry several requests (cryptography parses only one, so
requests are read in :mod:`trustkit._asn1`); they are answered in one
response, by the CA named in the first. SHA-1 and SHA-2 CertIDs are accepted
and echoed as sent. A nonce (RFC 8954: 1 to 32 octets) is echoed.

Signing: by the CA key (:attr:`SigningMode.CA`) or by a delegated responder
certificate (profile ``ocsp-signing``, RFC 6960 4.2.2.2) that the responder
issues itself, keeps in the CA directory (key encrypted with the CA
passphrase, mode 0600) and renews before it expires.

Responses to requests without a nonce are cached and handed out again until
half their validity has passed or something is revoked (RFC 5019 2.2 allows
pre-produced responses), so repeated queries cost no signature.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from .._asn1 import (
    OCSPCertID,
    OCSPRequestInfo,
    OCSPSingleAnswer,
    ocsp_response_data,
    ocsp_signature_algorithm,
    ocsp_successful_response,
    parse_ocsp_request,
)
from .._files import write_atomic
from ..ca import CertificateAuthority
from ..clock import utc
from ..csr import create_csr
from ..encoding import load_certificate, pem_encode
from ..errors import DecodeError, RevocationError, TrustkitError
from ..keys import (
    DEFAULT_LEAF_KEY_TYPE,
    PrivateKey,
    generate_key,
    load_private_key_file,
    save_private_key,
    signature_hash_for,
)
from ..store import CertStatus, SerialStatus
from .crl import _sign

__all__ = [
    "DEFAULT_MAX_CERT_IDS",
    "DEFAULT_OCSP_VALIDITY",
    "DELEGATED_CERT_FILE",
    "DELEGATED_KEY_FILE",
    "TRY_LATER",
    "DelegatedSigner",
    "OCSPResponder",
    "ResponderSettings",
    "SigningMode",
    "delegated_signer",
]

DEFAULT_OCSP_VALIDITY = timedelta(hours=1)
"""How long a response stays current (nextUpdate - thisUpdate) unless configured."""

DELEGATED_CERT_FILE = "ocsp-signer.pem"
DELEGATED_KEY_FILE = "ocsp-signer.key"

DEFAULT_CACHE_SIZE = 100_000
"""Responses kept for requests without a nonce, at most."""

DEFAULT_MAX_CERT_IDS = 16
"""CertIDs answered in one request, at most; more is malformedRequest.

RFC 5019 2.1.1 has clients send one; OpenSSL's client sends one per ``-cert``
and a client asking about a whole chain sends one per level, so 16 is room
to spare. Each costs a store lookup and about 150 octets of answer: without
a cap a 64 KB request of 700 CertIDs cost 1.5 s of CPU and an 84 KB answer."""

_CACHEABLE_REQUEST_BYTES = 2048
"""Larger requests (many CertIDs) are answered but not cached, to bound the cache's memory."""

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "1.3.14.3.2.26": hashes.SHA1(),
    "2.16.840.1.101.3.4.2.1": hashes.SHA256(),
    "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
}
"""CertID hash algorithms accepted (RFC 6960 4.1.1; RFC 5019 2.1.1 wants SHA-1 too)."""

_HASH_OIDS = {algorithm.name: oid for oid, algorithm in _HASHES.items()}

_NONCE_MAX = 32
"""RFC 8954 2.1: a nonce of 1 to 32 octets."""


class SigningMode(enum.Enum):
    """Who signs OCSP responses (RFC 6960 4.2.2.2)."""

    CA = "ca"
    """The CA's own key."""
    DELEGATED = "delegated"
    """A responder certificate with id-kp-OCSPSigning issued by the CA."""


@dataclass(frozen=True)
class ResponderSettings:
    """How a responder answers."""

    signing: SigningMode = SigningMode.DELEGATED
    validity: timedelta = DEFAULT_OCSP_VALIDITY
    """nextUpdate - thisUpdate of every answer."""
    cache_size: int = DEFAULT_CACHE_SIZE
    """Signed responses kept for requests without a nonce; 0 disables the cache."""
    revocation_poll: timedelta = timedelta(0)
    """How long a cached response may go without asking the store whether anything was
    revoked since; a revocation reaches OCSP clients at most this much later."""
    max_cert_ids: int = DEFAULT_MAX_CERT_IDS
    """CertIDs in one request, at most. A request with more is refused as a whole with
    malformedRequest, never answered in part: RFC 6960 has no way to say that a response
    covers only some of the CertIDs asked about (a client pairs each of its CertIDs with a
    SingleResponse, 4.2.2.3), and a refusal costs the responder almost nothing."""

    def __post_init__(self) -> None:
        if self.max_cert_ids < 1:
            raise ValueError(f"max_cert_ids: {self.max_cert_ids}; at least 1")


@dataclass(frozen=True)
class DelegatedSigner:
    """A delegated OCSP responder's key and certificate."""

    key: PrivateKey
    certificate: x509.Certificate


def _renew_margin(certificate: x509.Certificate) -> timedelta:
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    return min(timedelta(days=7), lifetime / 3)


def delegated_signer(
    ca: CertificateAuthority, *, at: datetime, passphrase: bytes | None
) -> DelegatedSigner:
    """The CA's delegated OCSP signer, issued (or renewed) now if it is missing or expiring.

    The certificate and key live in the CA directory (``ocsp-signer.pem``,
    ``ocsp-signer.key``, the key encrypted with ``passphrase``, mode 0600).
    A new one is issued through the CA's ``ocsp-signing`` profile when less
    than a third of its life (at most seven days) remains.
    """
    at = utc(at)
    cert_path: Path = ca.directory / DELEGATED_CERT_FILE
    key_path: Path = ca.directory / DELEGATED_KEY_FILE
    if cert_path.exists() and key_path.exists():
        certificate = load_certificate(cert_path.read_bytes(), what=str(cert_path))
        current = (
            certificate.issuer == ca.certificate.subject
            and certificate.not_valid_before_utc <= at
            and at < certificate.not_valid_after_utc - _renew_margin(certificate)
        )
        if current:
            return DelegatedSigner(load_private_key_file(key_path, passphrase), certificate)
    if not passphrase:
        raise RevocationError(
            f"{ca.config.name}: the delegated OCSP key is encrypted with the CA passphrase; "
            "give the passphrase"
        )
    key = generate_key(DEFAULT_LEAF_KEY_TYPE)
    subject = [
        x509.NameAttribute(NameOID.COMMON_NAME, f"{ca.config.name} OCSP responder"),
        *(
            attr
            for attr in ca.certificate.subject
            if attr.oid in (NameOID.ORGANIZATION_NAME, NameOID.COUNTRY_NAME)
        ),
    ]
    issued = ca.issue(create_csr(key, x509.Name(subject)), "ocsp-signing", at=at)
    # Key first: a certificate without its key would be taken as current next time.
    save_private_key(key, key_path, passphrase)
    write_atomic(
        cert_path, pem_encode("CERTIFICATE", issued.certificate.public_bytes(Encoding.DER))
    )
    return DelegatedSigner(key, issued.certificate)


def _key_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    # RFC 6960 4.1.1: the hash of the BIT STRING value of subjectPublicKey.
    digest = hashes.Hash(algorithm)
    digest.update(_subject_public_key_bits(certificate))
    return digest.finalize()


def _subject_public_key_bits(certificate: x509.Certificate) -> bytes:
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    raise RevocationError(f"issuer key {type(key).__name__}: not supported for OCSP")


def _name_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(certificate.subject.public_bytes())
    return digest.finalize()


def _signature_kind(key: PrivateKey) -> tuple[str, str | None]:
    algorithm = signature_hash_for(key)
    name = None if algorithm is None else algorithm.name
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ec", name
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa", name
    return ("ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "ed448"), None


@dataclass(frozen=True)
class _Signer:
    key: PrivateKey
    certificate: x509.Certificate
    """The responder's certificate: the CA's own, or the delegated one."""
    delegated: bool
    key_hash: bytes
    algorithm_der: bytes
    certificates: tuple[bytes, ...]
    not_after: datetime | None

    @functools.cached_property
    def hash_algorithm(self) -> hashes.HashAlgorithm | None:
        """The hash the key signs with, worked out once rather than per response."""
        return signature_hash_for(self.key)


def _error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)


MALFORMED = _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
UNAUTHORIZED = _error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
INTERNAL_ERROR = _error(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
TRY_LATER = _error(ocsp.OCSPResponseStatus.TRY_LATER)


class OCSPResponder:
    """Answers OCSP requests for a set of CAs from their stores."""

    def __init__(
        self,
        authorities: Sequence[CertificateAuthority],
        *,
        settings: ResponderSettings | None = None,
        passphrase: bytes | None = None,
        passphrases: Mapping[str, bytes] | None = None,
    ) -> None:
        """``passphrase`` encrypts each CA's delegated responder key (``ocsp-signer.key``);
        ``passphrases`` gives another one for the CAs it names (``config.name``)."""
        if not authorities:
            raise ValueError("authorities: an OCSP responder needs at least one CA")
        self.settings = settings or ResponderSettings()
        self._passphrase = passphrase
        self._passphrases = dict(passphrases or {})
        self._authorities = tuple(authorities)
        self._by_cert_id: dict[tuple[str, bytes, bytes], CertificateAuthority] = {}
        for ca in self._authorities:
            for oid, algorithm in _HASHES.items():
                key = (
                    oid,
                    _name_hash(ca.certificate, algorithm),
                    _key_hash(ca.certificate, algorithm),
                )
                self._by_cert_id[key] = ca
        self._signers: dict[str, _Signer] = {}
        # request DER -> (response DER, reuse until, CA id, revocation sequence number)
        self._cache: OrderedDict[bytes, tuple[bytes, datetime, str, int]] = OrderedDict()
        # (CA id, serial) -> (status, revocation sequence number it was read at)
        self._statuses: OrderedDict[tuple[str, int], tuple[SerialStatus, int]] = OrderedDict()
        self._seq: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    @property
    def authorities(self) -> tuple[CertificateAuthority, ...]:
        """The CAs this responder answers for."""
        return self._authorities

    def respond(self, request_der: bytes, *, at: datetime) -> bytes:
        """The DER OCSPResponse to ``request_der`` at time ``at``; never raises."""
        at = utc(at)
        try:
            # A request without a nonce is answered alike every time: its
            # bytes are the cache key, so a hit needs no parsing.
            with self._lock:
                hit = self._cache.get(request_der)
            if hit is not None and at < hit[1] and self._revocation_seq(hit[2], at) == hit[3]:
                return hit[0]
        except TrustkitError:
            return TRY_LATER
        try:
            request = _parse_request(request_der, self.settings.max_cert_ids)
        except DecodeError:
            return MALFORMED
        try:
            return self._answer(request, request_der, at)
        except DecodeError:
            return MALFORMED
        except TrustkitError:
            # A store or key problem: RFC 6960 4.2.1 tryLater, the client may ask again.
            return TRY_LATER

    def cached(self, request_der: bytes, *, at: datetime) -> bytes | None:
        """The answer to ``request_der`` if a current one is cached and taking it needs
        no store query (the revocation sequence number was read within
        ``revocation_poll``); else ``None``. Never raises, never blocks on I/O: an
        event loop may call it inline and hand everything else to a thread."""
        at = utc(at)
        with self._lock:
            hit = self._cache.get(request_der)
        if hit is None or at >= hit[1]:
            return None
        known = self._seq.get(hit[2])
        poll = self.settings.revocation_poll
        if known is None or not poll or not known[1] <= at < known[1] + poll:
            return None
        return hit[0] if known[0] == hit[3] else None

    def _revocation_seq(self, ca_id: str, at: datetime) -> int:
        known = self._seq.get(ca_id)
        poll = self.settings.revocation_poll
        if known is not None and poll and known[1] <= at < known[1] + poll:
            return known[0]
        ca = next(ca for ca in self._authorities if ca.id == ca_id)
        seq = ca.store.revocation_seq(ca_id)
        self._seq[ca_id] = (seq, at)
        return seq

    def _answer(self, request: OCSPRequestInfo, request_der: bytes, at: datetime) -> bytes:
        first = request.cert_ids[0]
        ca = self._by_cert_id.get(
            (first.hash_algorithm, first.issuer_name_hash, first.issuer_key_hash)
        )
        if ca is None:
            return UNAUTHORIZED
        use_cache = (
            request.nonce is None
            and self.settings.cache_size > 0
            and len(request_der) <= _CACHEABLE_REQUEST_BYTES
        )
        # Read once, before the statuses: a revocation in between makes the
        # cache entry stale, and each status kept is checked against it.
        seq = self._revocation_seq(ca.id, at)

        this_update = at.replace(microsecond=0)
        next_update = this_update + self.settings.validity
        answers = []
        cacheable = use_cache
        ours = [
            self._by_cert_id.get(
                (cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash)
            )
            is ca
            for cert_id in request.cert_ids
        ]
        known = self._statuses_of(
            ca, [c.serial for c, mine in zip(request.cert_ids, ours, strict=True) if mine], seq
        )
        for cert_id, mine in zip(request.cert_ids, ours, strict=True):
            status = known.get(cert_id.serial) if mine else None
            if status is None:
                # Never issued by this CA (or another issuer): unknown, never good (2.2).
                answers.append(OCSPSingleAnswer(cert_id.der, "unknown", this_update, next_update))
                cacheable = False
            elif status.status is CertStatus.REVOKED and status.revocation_time is not None:
                reason = status.reason
                answers.append(
                    OCSPSingleAnswer(
                        cert_id.der,
                        "revoked",
                        this_update,
                        next_update,
                        revocation_time=status.revocation_time,
                        reason=None if reason is None else reason.value,
                    )
                )
            else:
                answers.append(OCSPSingleAnswer(cert_id.der, "good", this_update, next_update))
        signer = self._signer(ca, at)
        response = _single_response(request, answers, signer) if len(answers) == 1 else None
        if response is None and not request.cert_ids[0].der:
            # Read by cryptography, which keeps no CertID bytes to echo: read it again.
            return self._answer(
                parse_ocsp_request(request_der, max_cert_ids=self.settings.max_cert_ids),
                request_der,
                at,
            )
        if response is None:
            data = ocsp_response_data(
                responder_key_hash=signer.key_hash,
                produced_at=this_update,
                answers=answers,
                nonce=request.nonce,
            )
            response = ocsp_successful_response(
                data, signer.algorithm_der, _sign(signer.key, data), signer.certificates
            )
        if cacheable:
            with self._lock:
                refresh = this_update + self.settings.validity / 2
                self._cache[request_der] = (response, refresh, ca.id, seq)
                self._cache.move_to_end(request_der)
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        return response

    def _statuses_of(
        self, ca: CertificateAuthority, serials: Sequence[int], seq: int
    ) -> dict[int, SerialStatus]:
        """The store's status of each of ``serials`` (those ``ca`` issued), kept while
        nothing is revoked.

        A status changes only by a revocation, which moves the CA's revocation
        sequence number (``seq``, read before); serials not kept are asked of
        the store in one query, and a serial not (yet) issued is asked each time.
        """
        found: dict[int, SerialStatus] = {}
        missing: list[int] = []
        with self._lock:
            for serial in serials:
                hit = self._statuses.get((ca.id, serial))
                if hit is not None and hit[1] == seq:
                    found[serial] = hit[0]
                else:
                    missing.append(serial)
        if not missing:
            return found
        if len(missing) == 1:
            one = ca.store.status(ca.id, missing[0])
            fetched = {} if one is None else {missing[0]: one}
        else:
            fetched = ca.store.statuses(ca.id, missing)
        found.update(fetched)
        if self.settings.cache_size > 0:
            with self._lock:
                for serial, status in fetched.items():
                    key = (ca.id, serial)
                    self._statuses[key] = (status, seq)
                    self._statuses.move_to_end(key)
                while len(self._statuses) > self.settings.cache_size:
                    self._statuses.popitem(last=False)
        return found

    def check_signer(self, ca: CertificateAuthority, *, at: datetime) -> None:
        """Open (or issue, or renew) the key that signs ``ca``'s answers now; a
        :class:`~trustkit.errors.TrustkitError` says it cannot be (a readiness probe)."""
        if ca.id not in {authority.id for authority in self._authorities}:
            raise ValueError(f"CA {ca.config.name}: not served by this responder")
        self._signer(ca, utc(at))

    def _signer(self, ca: CertificateAuthority, at: datetime) -> _Signer:
        signer = self._signers.get(ca.id)
        if signer is not None and (signer.not_after is None or at < signer.not_after):
            return signer
        if self.settings.signing is SigningMode.CA:
            key = ca.key
            key_hash = hashlib.sha1(  # RFC 6960 4.2.1: ResponderID byKey is a SHA-1 hash
                _subject_public_key_bits(ca.certificate)
            ).digest()
            signer = _Signer(key, ca.certificate, False, key_hash, _algorithm_der(key), (), None)
        else:
            delegated = delegated_signer(
                ca, at=at, passphrase=self._passphrases.get(ca.config.name, self._passphrase)
            )
            key_hash = hashlib.sha1(  # RFC 6960 4.2.1: ResponderID byKey is a SHA-1 hash
                _subject_public_key_bits(delegated.certificate)
            ).digest()
            signer = _Signer(
                delegated.key,
                delegated.certificate,
                True,
                key_hash,
                _algorithm_der(delegated.key),
                (delegated.certificate.public_bytes(Encoding.DER),),
                delegated.certificate.not_valid_after_utc - _renew_margin(delegated.certificate),
            )
        self._signers[ca.id] = signer
        return signer


def _parse_request(der: bytes, max_cert_ids: int) -> OCSPRequestInfo:
    """The request in ``der``: by cryptography in the common case, else by the strict reader.

    cryptography reads a message of one request whose only extension is a
    nonce of 1 to 32 octets (RFC 8954 2.1) several times faster than
    :func:`~trustkit._asn1.parse_ocsp_request`; everything else (several
    requests, other extensions, garbage) goes to the latter, which answers it
    or says what is wrong. The CertID read here has no ``der``: cryptography
    keeps no bytes to echo, so the general response path reads the request again.
    """
    try:
        request = ocsp.load_der_ocsp_request(der)
        oid = _HASH_OIDS.get(request.hash_algorithm.name)
        nonce: bytes | None = None
        nonce_value: bytes | None = None
        for extension in request.extensions:
            if not isinstance(extension.value, x509.OCSPNonce):
                oid = None
                break
            nonce_value = extension.value.nonce
            nonce = extension.value.public_bytes()
        if oid is not None and (nonce_value is None or 1 <= len(nonce_value) <= _NONCE_MAX):
            cert_id = OCSPCertID(
                hash_algorithm=oid,
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial=request.serial_number,
                der=b"",
            )
            return OCSPRequestInfo((cert_id,), nonce, nonce_value)
    except (
        ValueError,
        TypeError,
        NotImplementedError,
        UnsupportedAlgorithm,
        x509.DuplicateExtension,
    ):
        pass  # the strict reader says what is wrong, or reads what cryptography does not
    return parse_ocsp_request(der, max_cert_ids=max_cert_ids)


_STATUSES = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}


def _single_response(
    request: OCSPRequestInfo, answers: Sequence[OCSPSingleAnswer], signer: _Signer
) -> bytes | None:
    """The one-answer response through cryptography's builder (the common, fast case).

    The builder sets producedAt to the moment of signing (RFC 6960 4.2.2.1
    defines it so); thisUpdate and nextUpdate come from the time asked about.

    ``None`` when the builder cannot express the request (an unusual hash or
    serial); the general path then answers.
    """
    (cert_id,) = request.cert_ids
    (answer,) = answers
    algorithm = _HASHES.get(cert_id.hash_algorithm)
    if algorithm is None:
        return None
    try:
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=cert_id.issuer_name_hash,
                issuer_key_hash=cert_id.issuer_key_hash,
                serial_number=cert_id.serial,
                algorithm=algorithm,
                cert_status=_STATUSES[answer.status],
                this_update=answer.this_update,
                next_update=answer.next_update,
                revocation_time=answer.revocation_time,
                revocation_reason=None
                if answer.reason is None
                else x509.ReasonFlags(answer.reason),
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
        )
        if signer.delegated:
            builder = builder.certificates([signer.certificate])
        if request.nonce_value is not None:
            builder = builder.add_extension(x509.OCSPNonce(request.nonce_value), critical=False)
        signed = builder.sign(signer.key, signer.hash_algorithm)
    except (ValueError, TypeError):
        return None
    return signed.public_bytes(Encoding.DER)


def _algorithm_der(key: PrivateKey) -> bytes:
    kind, hash_name = _signature_kind(key)
    return ocsp_signature_algorithm(kind, hash_name)
