"""RFC 3161 time-stamping: an authority engine, an HTTP client, and token checks.

The engine is bytes in, bytes out and knows nothing of HTTP::

    tsa = TimestampAuthority.open("tsa", passphrase=b"...")
    reply_der = tsa.respond(request_der, at=clock.now())

A bad request never raises: it gets a rejection with the PKIFailureInfo bit
RFC 3161 2.4.2 names (badAlg, badRequest, badDataFormat, unacceptedPolicy,
unacceptedExtension). Tokens carry the policy, the message imprint, the
nonce, the accuracy, a serial number unique for the TSA, and ESS
signing-certificate-v2 (RFC 5816) naming the TSA certificate, which must
hold the one, critical, timeStamping extended key usage (RFC 3161 2.3).

Serial numbers: a TSA opened from its directory takes them from its store's
counter (``store.next_counter``), which is atomic across every process
sharing the store, so uniqueness (RFC 3161 2.4.2: "unique for each
TimeStampToken issued by a given TSA") is guaranteed rather than probable
and tokens are numbered in issuing order for audit. A TSA built in memory
without a store draws 159-bit random serials from :func:`trustkit.serials.new_serial`,
unique with overwhelming probability.

:func:`request_timestamp` asks a TSA over HTTP (httpx, imported when used)
and checks the reply; :class:`HttpTimestamper` plugs it into CMS signing.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import tomli_w
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from ._asn1 import (
    ID_CT_TST_INFO,
    encode_signed_data,
    encode_timestamp_request,
    encode_timestamp_response,
    encode_tst_info,
    parse_signed_data,
    parse_timestamp_request,
    parse_timestamp_response,
    parse_tst_info,
)
from ._files import write_atomic
from .clock import Clock, SystemClock, utc
from .cms._algorithms import DigestAlgorithm, RSAPadding, default_digest_for
from .cms._signer import (
    check_attributes,
    check_signature,
    check_signing_certificate,
    find_signer_certificate,
    load_embedded_certificates,
    make_signer_info,
)
from .encoding import load_certificate, load_certificates, pem_encode
from .errors import ConfigError, DecodeError, SignatureError, TimestampError, TrustkitError
from .keys import KeyType, generate_key, load_private_key_file, save_private_key
from .names import format_name
from .serials import new_serial

if TYPE_CHECKING:
    from .ca import CertificateAuthority
    from .store import CertificateStore

__all__ = [
    "DEFAULT_ACCURACY",
    "DEFAULT_MAX_REPLY_SIZE",
    "DEFAULT_POLICY",
    "DEFAULT_TIMEOUT",
    "MAX_REQUEST_SIZE",
    "QUERY_MEDIA_TYPE",
    "REPLY_MEDIA_TYPE",
    "FailureInfo",
    "HttpTimestamper",
    "LocalTimestamper",
    "TimestampAuthority",
    "TimestampPolicy",
    "TimestampToken",
    "Timestamper",
    "check_reply",
    "check_token",
    "request_timestamp",
]

DEFAULT_POLICY = "0.4.0.2023.1.1"
"""ETSI EN 319 421 best-practices time-stamp policy (itu-t(0) identified-organization(4)
etsi(0) time-stamp-policy(2023) policy-identifiers(1) best-practices-ts-policy(1))."""

DEFAULT_ACCURACY = timedelta(seconds=1)
"""Accuracy stated in tokens: genTime is truncated to whole seconds."""

MAX_REQUEST_SIZE = 64 * 1024
"""Largest request the engine parses; a TimeStampReq is a few hundred bytes."""

DEFAULT_TIMEOUT = 10.0
"""Seconds the client waits to connect and for each read."""

DEFAULT_MAX_REPLY_SIZE = 1 << 20
"""Largest reply the client reads: a token with a long chain is a few kilobytes."""

QUERY_MEDIA_TYPE = "application/timestamp-query"
"""RFC 3161 3.4 media type of a request."""
REPLY_MEDIA_TYPE = "application/timestamp-reply"
"""RFC 3161 3.4 media type of a reply."""

TSA_CONFIG_FILE = "tsa.toml"
TSA_CERT_FILE = "tsa.pem"
TSA_CHAIN_FILE = "chain.pem"
TSA_KEY_FILE = "tsa.key"
TSA_STORE_FILE = "store.db"
_SERIAL_COUNTER = "tsa-serial"

_GRANTED = 0
_GRANTED_WITH_MODS = 1
_REJECTION = 2


class FailureInfo(enum.Enum):
    """PKIFailureInfo bits (RFC 3161 2.4.2); values are asn1crypto's names."""

    BAD_ALG = "bad_alg"
    """Unrecognized or unsupported hash algorithm."""
    BAD_REQUEST = "bad_request"
    """Transaction not permitted or supported."""
    BAD_DATA_FORMAT = "bad_data_format"
    """The data submitted has the wrong format."""
    TIME_NOT_AVAILABLE = "time_not_available"
    """The TSA's time source is not available."""
    UNACCEPTED_POLICY = "unaccepted_policy"
    """The requested TSA policy is not supported by the TSA."""
    UNACCEPTED_EXTENSION = "unaccepted_extensions"
    """The requested extension is not supported by the TSA."""
    SYSTEM_FAILURE = "system_failure"
    """The request cannot be handled due to system failure."""


class Timestamper(Protocol):
    """Something that timestamps a digest: returns a TimeStampToken (ContentInfo DER)."""

    def timestamp(self, digest: bytes, algorithm: DigestAlgorithm) -> bytes:
        """A token whose message imprint is ``digest`` hashed with ``algorithm``."""
        ...


@dataclass(frozen=True)
class TimestampPolicy:
    """How a TSA answers: the policy it stamps under and what it accepts; frozen data."""

    policy: str = DEFAULT_POLICY
    """The TSA policy OID put in every token (RFC 3161 2.4.2 policy)."""
    accepted_policies: frozenset[str] = frozenset()
    """Further reqPolicy OIDs answered (with ``policy`` in the token)."""
    accuracy: timedelta | None = DEFAULT_ACCURACY
    """The accuracy field; ``None`` leaves it out."""
    accepted_hashes: frozenset[DigestAlgorithm] = frozenset(DigestAlgorithm)
    """Message-imprint hashes accepted; others get badAlg."""
    digest: DigestAlgorithm | None = None
    """The hash the token is signed with; ``None`` matches it to the key."""
    rsa_padding: RSAPadding = RSAPadding.PKCS1V15
    """RSA signature scheme for an RSA TSA key."""

    def __post_init__(self) -> None:
        _check_oid(self.policy, "policy")
        for oid in self.accepted_policies:
            _check_oid(oid, "accepted_policies")
        if self.accuracy is not None and self.accuracy < timedelta(0):
            raise ValueError("accuracy: must not be negative (RFC 3161 2.4.2)")


def _check_oid(text: str, what: str) -> None:
    try:
        x509.ObjectIdentifier(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a dotted OID") from None


def check_tsa_certificate(certificate: x509.Certificate) -> None:
    """RFC 3161 2.3: exactly one extended key usage, timeStamping, marked critical."""
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampError(
            "TSA certificate: extended key usage missing; timeStamping required (RFC 3161 2.3)"
        ) from None
    except ValueError as exc:
        raise TimestampError(f"TSA certificate: extensions cannot be parsed ({exc})") from exc
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING] or not eku.critical:
        raise TimestampError(
            "TSA certificate: extended key usage must be timeStamping alone, marked critical "
            "(RFC 3161 2.3)"
        )


@dataclass(frozen=True)
class TimestampToken:
    """A TimeStampToken whose signature, imprint and TSA certificate were checked."""

    der: bytes
    """The token, a ContentInfo of SignedData (RFC 3161 2.4.2)."""
    gen_time: datetime
    """When the TSA says it stamped."""
    serial_number: int
    policy: str
    accuracy: timedelta | None
    nonce: int | None
    hash_algorithm: str
    """The message imprint's hash."""
    hashed_message: bytes
    signer: x509.Certificate
    """The TSA certificate that signed the token (its path is not validated here)."""
    certificates: tuple[x509.Certificate, ...]
    """Every certificate the token carries."""

    @property
    def tsa_subject(self) -> str:
        """The TSA certificate's subject, RFC 4514."""
        return format_name(self.signer.subject)


def check_token(
    token: bytes,
    *,
    digest: bytes | None = None,
    nonce: int | None = None,
    extra_certificates: Sequence[x509.Certificate] = (),
) -> TimestampToken:
    """Check a TimeStampToken: its structure, signature and ESS binding (RFC 3161 2.4.1
    and RFC 5816), the TSA certificate's EKU, and, when given, that the imprint is
    ``digest`` and the nonce ``nonce``. Raises :class:`TimestampError` naming the failure.

    The TSA certificate's path is not validated here (that needs
    :mod:`trustkit.validation`, a layer above); :func:`trustkit.cms.verify.verify_cms` does it.
    """
    try:
        signed = parse_signed_data(token, what="timestamp token")
    except DecodeError as exc:
        raise TimestampError(str(exc)) from exc
    if signed.content_type != ID_CT_TST_INFO or signed.content is None:
        raise TimestampError(
            "timestamp token: eContentType must be id-ct-TSTInfo with the content "
            "encapsulated (RFC 3161 2.4.2)"
        )
    if len(signed.signers) != 1:
        raise TimestampError("timestamp token: must have exactly one SignerInfo (RFC 3161 2.4.2)")
    try:
        info = parse_tst_info(signed.content)
        certificates = load_embedded_certificates(signed.certificates, "timestamp token")
    except (DecodeError, SignatureError) as exc:
        raise TimestampError(f"timestamp token: {exc}") from exc
    signer = signed.signers[0]
    certificate = find_signer_certificate(signer, (*certificates, *extra_certificates))
    if certificate is None:
        raise TimestampError(
            "timestamp token: the TSA certificate is neither in the token nor given "
            "(request it with certReq, RFC 3161 2.4.1)"
        )
    try:
        check_attributes(
            signer,
            content_type=ID_CT_TST_INFO,
            content_digest=_hash(signer.digest_algorithm, signed.content),
        )
        if signer.signed_attrs is None:
            raise SignatureError("signed attributes missing (RFC 3161 2.4.2, RFC 5652 5.3)")
        check_signature(signer, certificate, content_digest=None)
        if not check_signing_certificate(signer, certificate):
            raise SignatureError(
                "ESS signing-certificate(-v2) missing (RFC 3161 2.4.1, RFC 5816 2.2.1)"
            )
    except SignatureError as exc:
        raise TimestampError(f"timestamp token: {exc}") from exc
    check_tsa_certificate(certificate)
    if digest is not None and info.hashed_message != digest:
        raise TimestampError(
            "timestamp token: message imprint does not match what was stamped (RFC 3161 2.4.2)"
        )
    if nonce is not None and info.nonce != nonce:
        raise TimestampError("timestamp token: nonce differs from the request's (RFC 3161 2.4.2)")
    return TimestampToken(
        der=token,
        gen_time=utc(info.gen_time),
        serial_number=info.serial_number,
        policy=info.policy,
        accuracy=info.accuracy,
        nonce=info.nonce,
        hash_algorithm=info.hash_algorithm,
        hashed_message=info.hashed_message,
        signer=certificate,
        certificates=certificates,
    )


def _hash(name: str, data: bytes) -> bytes | None:
    try:
        return hashlib.new(name, data).digest()
    except (ValueError, TypeError):
        raise SignatureError(f"digest algorithm {name}: not supported") from None


def _self_signed(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` is a root: self-issued and signed by its own key."""
    if certificate.subject != certificate.issuer:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


class TimestampAuthority:
    """An RFC 3161 time-stamping authority: a ``timestamping`` certificate and its key.

    :meth:`respond` answers a TimeStampReq with a TimeStampResp, both DER.
    """

    def __init__(
        self,
        key: PrivateKeyTypes,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        policy: TimestampPolicy | None = None,
        serial_source: Callable[[], int] = new_serial,
    ) -> None:
        check_tsa_certificate(certificate)
        if key.public_key() != certificate.public_key():
            raise ConfigError("TSA: the private key does not match the TSA certificate")
        self.key = key
        self.certificate = certificate
        self.chain = tuple(chain)
        self.policy = policy or TimestampPolicy()
        self._serial_source = serial_source
        self._store: CertificateStore | None = None
        # A token carries the TSA certificate and its intermediates, never the trust
        # anchor: a relying party must hold the root already, and a root in the token
        # invites trusting it from there (RFC 3161 2.4.1 certReq; RFC 5652 5.1).
        self._certs_der = [
            c.public_bytes(Encoding.DER)
            for c in (certificate, *self.chain)
            if c is certificate or not _self_signed(c)
        ]
        self._subject_der = certificate.subject.public_bytes()
        self._digest = self.policy.digest or default_digest_for(key)

    # -- a TSA directory ------------------------------------------------------

    @classmethod
    def create(
        cls,
        ca: CertificateAuthority,
        directory: str | Path,
        *,
        subject: str | x509.Name,
        passphrase: bytes,
        key_type: KeyType | str = KeyType.EC_P256,
        days: int | None = None,
        at: datetime | None = None,
        policy: str = DEFAULT_POLICY,
    ) -> TimestampAuthority:
        """Make a TSA directory: a new key, a ``timestamping`` certificate from ``ca``,
        ``tsa.toml`` and a store for the serial counter. The key is encrypted at rest."""
        from .csr import create_csr
        from .names import parse_name

        directory = Path(directory)
        if (directory / TSA_CONFIG_FILE).exists():
            raise ConfigError(f"{directory}: already holds a TSA ({TSA_CONFIG_FILE} exists)")
        directory.mkdir(parents=True, exist_ok=True)
        key = generate_key(key_type)
        name = parse_name(subject) if isinstance(subject, str) else subject
        issued = ca.issue(create_csr(key, name), "timestamping", days=days, at=at)
        save_private_key(key, directory / TSA_KEY_FILE, passphrase)
        write_atomic(directory / TSA_CERT_FILE, issued.pem())
        write_atomic(
            directory / TSA_CHAIN_FILE,
            b"".join(pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in issued.chain),
        )
        config = {"policy": policy, "accuracy_seconds": DEFAULT_ACCURACY.total_seconds()}
        write_atomic(directory / TSA_CONFIG_FILE, tomli_w.dumps(config).encode())
        return cls.open(directory, passphrase=passphrase)

    @classmethod
    def open(cls, directory: str | Path, *, passphrase: bytes | None) -> TimestampAuthority:
        """Open the TSA in ``directory`` (made by :meth:`create` or ``trustkit tsa init``).

        ``tsa.toml`` may set ``policy``, ``accepted_policies``, ``accuracy_seconds``
        and ``store`` (a store URL; default ``store.db`` in the directory).
        """
        from .store import open_store

        directory = Path(directory)
        try:
            config = tomllib.loads((directory / TSA_CONFIG_FILE).read_text())
            certificate = load_certificate((directory / TSA_CERT_FILE).read_bytes())
            chain_bytes = (directory / TSA_CHAIN_FILE).read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{directory}: not a TSA directory ({exc.filename} missing)"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{directory / TSA_CONFIG_FILE}: {exc}") from exc
        chain = load_certificates(chain_bytes) if chain_bytes.strip() else []
        key = load_private_key_file(directory / TSA_KEY_FILE, passphrase)
        try:
            accuracy = config.get("accuracy_seconds", DEFAULT_ACCURACY.total_seconds())
            policy = TimestampPolicy(
                policy=str(config.get("policy", DEFAULT_POLICY)),
                accepted_policies=frozenset(map(str, config.get("accepted_policies", ()))),
                accuracy=None if accuracy is False else timedelta(seconds=float(accuracy)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{directory / TSA_CONFIG_FILE}: {exc}") from exc
        store_url = str(config.get("store", f"sqlite:///{directory.resolve() / TSA_STORE_FILE}"))
        store = open_store(store_url)
        issuer = certificate.fingerprint(hashes.SHA256()).hex()
        authority = cls(
            key,
            certificate,
            chain,
            policy=policy,
            serial_source=lambda: store.next_counter(issuer, _SERIAL_COUNTER),
        )
        authority._store = store
        return authority

    def close(self) -> None:
        """Release the serial-number store, if the TSA has one."""
        if self._store is not None:
            self._store.close()

    # -- answering ------------------------------------------------------------

    def respond(self, request_der: bytes, *, at: datetime) -> bytes:
        """A DER TimeStampResp for a DER TimeStampReq (RFC 3161 2.4); never raises for a
        bad request, which gets a rejection with its PKIFailureInfo."""
        if len(request_der) > MAX_REQUEST_SIZE:
            return _reject(FailureInfo.BAD_REQUEST, f"request larger than {MAX_REQUEST_SIZE}")
        try:
            request = parse_timestamp_request(request_der)
        except DecodeError as exc:
            return _reject(FailureInfo.BAD_DATA_FORMAT, str(exc))
        if request.version != 1:
            return _reject(FailureInfo.BAD_REQUEST, "version must be 1 (RFC 3161 2.4.1)")
        accepted = {a.value: a for a in self.policy.accepted_hashes}
        algorithm = accepted.get(request.hash_algorithm)
        if algorithm is None:
            return _reject(
                FailureInfo.BAD_ALG, f"hash algorithm {request.hash_algorithm} not accepted"
            )
        if len(request.hashed_message) != algorithm.digest_size:
            return _reject(
                FailureInfo.BAD_DATA_FORMAT,
                f"hashedMessage must be {algorithm.digest_size} bytes for {algorithm.value}",
            )
        if request.policy is not None and request.policy not in {
            self.policy.policy,
            *self.policy.accepted_policies,
        }:
            return _reject(FailureInfo.UNACCEPTED_POLICY, f"policy {request.policy} not offered")
        if request.extensions:
            return _reject(
                FailureInfo.UNACCEPTED_EXTENSION,
                "extensions not supported: " + ", ".join(request.extensions),
            )
        try:
            token = self._token(
                request.hashed_message,
                algorithm,
                at=at,
                nonce=request.nonce,
                include_certificates=request.cert_req,
            )
        except (TrustkitError, ValueError, OSError) as exc:
            return _reject(FailureInfo.SYSTEM_FAILURE, f"token could not be made: {exc}")
        return encode_timestamp_response(status=_GRANTED, token=token)

    def timestamp_token(
        self,
        digest: bytes,
        algorithm: DigestAlgorithm,
        *,
        at: datetime,
        nonce: int | None = None,
    ) -> bytes:
        """A token for ``digest`` directly, without request and reply (the TSA in-process)."""
        if len(digest) != algorithm.digest_size:
            raise TimestampError(
                f"digest: {len(digest)} bytes, {algorithm.value} gives {algorithm.digest_size}"
            )
        return self._token(digest, algorithm, at=at, nonce=nonce, include_certificates=True)

    def _token(
        self,
        digest: bytes,
        algorithm: DigestAlgorithm,
        *,
        at: datetime,
        nonce: int | None,
        include_certificates: bool,
    ) -> bytes:
        gen_time = utc(at).replace(microsecond=0)
        tst_info = encode_tst_info(
            policy=self.policy.policy,
            hash_algorithm=algorithm.value,
            hashed_message=digest,
            serial_number=self._serial_source(),
            gen_time=gen_time,
            accuracy=self.policy.accuracy,
            nonce=nonce,
            tsa=self._subject_der,
        )
        signer_info = make_signer_info(
            self.key,
            self.certificate,
            digest=self._digest,
            rsa_padding=self.policy.rsa_padding,
            content_type=ID_CT_TST_INFO,
            message_digest=hashlib.new(self._digest.value, tst_info).digest(),
            signing_time=None,
        )
        return encode_signed_data(
            content_type=ID_CT_TST_INFO,
            content=tst_info,
            digest_algorithms=[self._digest.value],
            # RFC 3161 2.4.1: the certificate is included when certReq asks for it.
            certificates=self._certs_der if include_certificates else (),
            signer_infos=[signer_info],
        )


def _reject(failure: FailureInfo, text: str) -> bytes:
    return encode_timestamp_response(status=_REJECTION, failure=failure.value, text=text)


@dataclass(frozen=True)
class LocalTimestamper:
    """A :class:`Timestamper` that asks a TSA in the same process, at ``clock``'s time."""

    authority: TimestampAuthority
    clock: Clock = field(default_factory=SystemClock)

    def timestamp(self, digest: bytes, algorithm: DigestAlgorithm) -> bytes:
        return self.authority.timestamp_token(digest, algorithm, at=self.clock.now())


@dataclass(frozen=True)
class HttpTimestamper:
    """A :class:`Timestamper` that asks a TSA over HTTP and checks its reply."""

    url: str
    timeout: float = DEFAULT_TIMEOUT
    max_size: int = DEFAULT_MAX_REPLY_SIZE
    policy: str | None = None

    def timestamp(self, digest: bytes, algorithm: DigestAlgorithm) -> bytes:
        return request_timestamp(
            self.url,
            digest,
            algorithm,
            policy=self.policy,
            timeout=self.timeout,
            max_size=self.max_size,
        ).der


def request_timestamp(
    url: str,
    data_digest: bytes,
    algorithm: DigestAlgorithm = DigestAlgorithm.SHA256,
    *,
    nonce: int | None = None,
    policy: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_size: int = DEFAULT_MAX_REPLY_SIZE,
) -> TimestampToken:
    """Ask the TSA at ``url`` to stamp ``data_digest`` (RFC 3161 3.4, HTTP POST) and check
    the reply: granted, imprint, nonce (a random 64-bit one unless given), the token's
    signature and the TSA certificate's critical timeStamping EKU.

    Raises :class:`TimestampError` for a transport failure, a rejection (naming its
    PKIFailureInfo), or a reply that does not check out.
    """
    import httpx

    if len(data_digest) != algorithm.digest_size:
        raise TimestampError(
            f"data_digest: {len(data_digest)} bytes, but {algorithm.value} gives "
            f"{algorithm.digest_size}"
        )
    if nonce is None:
        nonce = secrets.randbits(63) | 1
    request = encode_timestamp_request(
        hash_algorithm=algorithm.value,
        hashed_message=data_digest,
        nonce=nonce,
        policy=policy,
        cert_req=True,
    )
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                "POST", url, content=request, headers={"Content-Type": QUERY_MEDIA_TYPE}
            ) as response,
        ):
            if response.status_code != 200:
                raise TimestampError(f"TSA {url}: HTTP status {response.status_code}")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            if media_type != REPLY_MEDIA_TYPE:
                raise TimestampError(
                    f"TSA {url}: content type {media_type!r}, expected {REPLY_MEDIA_TYPE} "
                    "(RFC 3161 3.4)"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_size:
                    raise TimestampError(f"TSA {url}: reply larger than {max_size} bytes")
    except httpx.HTTPError as exc:
        raise TimestampError(f"TSA {url}: {type(exc).__name__}: {exc}") from exc
    return check_reply(bytes(body), digest=data_digest, nonce=nonce)


def check_reply(reply: bytes, *, digest: bytes, nonce: int | None) -> TimestampToken:
    """Check a DER TimeStampResp against the request's imprint and nonce (RFC 3161 2.4.2)."""
    try:
        parsed = parse_timestamp_response(reply)
    except DecodeError as exc:
        raise TimestampError(str(exc)) from exc
    if parsed.status not in (_GRANTED, _GRANTED_WITH_MODS) or parsed.token is None:
        failures = ", ".join(parsed.failure_info) or "none given"
        text = "; ".join(parsed.status_text)
        raise TimestampError(
            f"timestamp refused: status {parsed.status}, failure info {failures}"
            + (f" ({text})" if text else "")
        )
    return check_token(parsed.token, digest=digest, nonce=nonce)
