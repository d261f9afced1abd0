"""Bounded caches shared by validations: what a certificate or a CRL says, parsed once;
signature checks, which depend only on the signed bytes and the signer's key; and
successful results, under a key that holds everything they depend on.

Nothing here depends on the validation time, the policy or the purpose: the
facts are functions of the DER alone, so a cached value is the value a fresh
computation would give. Entries are found by object identity (``id``) with
the object itself kept in the entry, so an id cannot be reused while its
entry lives; signature results are keyed by the bytes that decide them.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .._asn1 import (
    CertificateEncoding,
    certificate_encoding,
    public_key_info_ec_parameters,
)
from .._asn1 import curve_encoding_problem as ec_curve_problem
from ..errors import DecodeError
from ..matching import NormalizedName, normalize_name
from ..names import format_name
from ._crypto import PublicKey, curve_encoding_problem, public_key_of, serial_of
from ._model import ValidationResult

__all__ = [
    "MAX_CERTIFICATES",
    "MAX_CRLS",
    "MAX_NAMES",
    "MAX_POOLS",
    "MAX_RESULTS",
    "MAX_SIGNATURES",
    "POOL_INDEXES",
    "RESULTS",
    "CertFacts",
    "CrlFacts",
    "LruCache",
    "clear_caches",
    "crl_facts_of",
    "facts_of",
    "signature_cached",
]

K = TypeVar("K")
V = TypeVar("V")
E = TypeVar("E", bound=x509.ExtensionType)

MAX_CERTIFICATES = 2048
"""Certificates whose parsed facts are kept."""
MAX_SIGNATURES = 8192
"""Signature check results kept."""
MAX_NAMES = 4096
MAX_POOLS = 32
"""Sets of anchors and intermediates whose path-building index is kept."""
"""Normalized names kept, by their DER encoding."""


class LruCache(Generic[K, V]):
    """A thread-safe mapping that forgets its least recently used entry beyond ``maxsize``.

    With ``refresh=False`` a lookup does not renew an entry, so the oldest inserted
    goes first: cheaper, for entries that are cheap to make again.
    """

    def __init__(self, maxsize: int, *, refresh: bool = True) -> None:
        if maxsize < 1:
            raise ValueError("maxsize: must be at least 1")
        self.maxsize = maxsize
        self.refresh = refresh
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for ``key``, marked as recently used; ``None`` when absent."""
        # Each OrderedDict call is atomic under the GIL; only the reordering can race
        # with an eviction, which leaves nothing to reorder.
        value = self._data.get(key)
        if value is not None and self.refresh:
            try:
                self._data.move_to_end(key)
            except KeyError:
                pass
        return value

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key``, forgetting the oldest entry when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


EXTENSION_ERRORS = (
    ValueError,
    TypeError,  # cryptography's own checks, such as a name constraint address without mask
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
"""What reading a malformed extension list can raise."""


class _Unset:
    """Marks a fact not computed yet where ``None`` is a value."""


_UNSET = _Unset()


class _Malformed:
    """A remembered parse failure: the message to raise again."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class CertFacts:
    """What validation reads from one certificate, each computed on first use.

    Every value is a function of the certificate's DER; an exception a fresh
    computation would raise is raised again (the caller catches it as before).
    """

    __slots__ = (
        "_by_oid",
        "_encoding",
        "_extensions",
        "_issuer_norm",
        "_key",
        "_serial",
        "_spki",
        "_subject_name",
        "_subject_norm",
        "_subject_text",
        "_validity",
        "cert",
        "der",
        "memo",
    )

    def __init__(self, cert: x509.Certificate) -> None:
        self.cert = cert
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self._extensions: dict[type, x509.Extension[x509.ExtensionType]] | _Malformed | None = None
        self._spki: bytes | None = None
        self._subject_norm: NormalizedName | None = None
        self._issuer_norm: NormalizedName | None = None
        self._subject_text: str | None = None
        self._subject_name: x509.Name | None = None
        self._encoding: CertificateEncoding | DecodeError | None = None
        self._serial: int | None = None
        self._validity: tuple[datetime, datetime] | None = None
        # Other values derived from the certificate alone, by the modules that derive them.
        self.memo: dict[object, object] = {}
        self._key: PublicKey | _Unset | None = _UNSET
        self._by_oid: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]] | None = None

    def extension(self, ext_type: type[E]) -> x509.Extension[E] | None:
        """The extension of ``ext_type`` or ``None``; ValueError when the extensions are
        malformed or one is duplicated."""
        if self._extensions is None:
            self._extensions = self._by_type()
        if isinstance(self._extensions, _Malformed):
            raise ValueError(self._extensions.message)
        if ext_type is x509.UnrecognizedExtension:
            raise TypeError("UnrecognizedExtension: look it up by OID")  # as cryptography does
        return self._extensions.get(ext_type)  # type: ignore[return-value]

    def _by_type(self) -> dict[type, x509.Extension[x509.ExtensionType]] | _Malformed:
        # What get_extension_for_class finds (the first of a type), for every type at once.
        try:
            extensions = self.cert.extensions
        except EXTENSION_ERRORS as exc:
            return _Malformed(str(exc))
        found: dict[type, x509.Extension[x509.ExtensionType]] = {}
        by_oid: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]] = {}
        for ext in extensions:  # one pass for both views
            found.setdefault(type(ext.value), ext)
            by_oid[ext.oid] = ext
        self._by_oid = by_oid
        return found

    @property
    def spki(self) -> bytes:
        """The SubjectPublicKeyInfo DER; for a key cryptography cannot load, a marker
        followed by the TBSCertificate, which no loadable key can equal."""
        if self._spki is None:
            # The key loaded once for the key checks (public_key_of) serves here too.
            key = self.key
            try:
                public = key if key is not None else self.cert.public_key()
                self._spki = public.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            except (ValueError, UnsupportedAlgorithm, TypeError):
                self._spki = b"?" + self.cert.tbs_certificate_bytes
        return self._spki

    def curve_encoding_problem(self) -> str | None:
        """Why the EC key must not be used although cryptography read it (explicit or
        absent curve parameters, RFC 5480 2.1.1), or ``None``: the subjectPublicKeyInfo
        found by the :attr:`encoding` walk, not a second walk of the certificate."""
        key = self.key
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return None
        encoding = self._raw_encoding()
        if encoding is not None:
            with contextlib.suppress(DecodeError):  # else the whole walk says why
                return ec_curve_problem(public_key_info_ec_parameters(encoding.public_key_info))
        return curve_encoding_problem(key, self.der)

    def _raw_encoding(self) -> CertificateEncoding | None:
        try:
            return self.encoding
        except DecodeError:
            return None

    @property
    def subject_norm(self) -> NormalizedName:
        """The subject for RFC 5280 7.1 comparison (ValueError and others pass through)."""
        if self._subject_norm is None:
            encoding = self._raw_encoding()
            self._subject_norm = _normalized(
                encoding.subject if encoding is not None else None, lambda: self.subject_name
            )
        return self._subject_norm

    @property
    def issuer_norm(self) -> NormalizedName:
        """The issuer for RFC 5280 7.1 comparison."""
        if self._issuer_norm is None:
            encoding = self._raw_encoding()
            self._issuer_norm = _normalized(
                encoding.issuer if encoding is not None else None, lambda: self.cert.issuer
            )
        return self._issuer_norm

    @property
    def subject_empty(self) -> bool:
        """Whether the subject is an empty name (without normalizing it)."""
        encoding = self._raw_encoding()
        if encoding is not None:
            return encoding.subject_empty
        return not self.cert.subject.rdns

    @property
    def subject_name(self) -> x509.Name:
        """The subject, built once (cryptography builds a new Name on each access)."""
        if self._subject_name is None:
            self._subject_name = self.cert.subject
        return self._subject_name

    @property
    def subject_text(self) -> str:
        """The subject as RFC 4514 text."""
        if self._subject_text is None:
            self._subject_text = format_name(self.subject_name)
        return self._subject_text

    @property
    def encoding(self) -> CertificateEncoding:
        """What :func:`trustkit._asn1.certificate_encoding` says; DecodeError again if it failed."""
        if self._encoding is None:
            try:
                self._encoding = certificate_encoding(self.der)
            except DecodeError as exc:
                self._encoding = exc
        if isinstance(self._encoding, DecodeError):
            raise DecodeError(str(self._encoding))
        return self._encoding

    @property
    def key(self) -> PublicKey | None:
        """The public key (:func:`trustkit.validation._crypto.public_key_of`)."""
        if isinstance(self._key, _Unset):
            self._key = public_key_of(self.cert)
        return self._key

    def extensions_by_oid(self) -> dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]]:
        """Every extension by OID (the last of duplicates); a parse error raises each time."""
        if self._by_oid is None and self._extensions is None:
            self._extensions = self._by_type()  # sets _by_oid unless malformed
        if self._by_oid is None:
            self._by_oid = {ext.oid: ext for ext in self.cert.extensions}
        return self._by_oid

    @property
    def validity(self) -> tuple[datetime, datetime]:
        """notBefore and notAfter, as UTC datetimes."""
        if self._validity is None:
            self._validity = (self.cert.not_valid_before_utc, self.cert.not_valid_after_utc)
        return self._validity

    @property
    def serial(self) -> int:
        """The serial number (:func:`trustkit.validation._crypto.serial_of`)."""
        if self._serial is None:
            self._serial = serial_of(self.cert)
        return self._serial


def _normalized(raw: bytes | None, name: Callable[[], x509.Name]) -> NormalizedName:
    """The normalized ``name()``, whose DER element is ``raw``.

    A name is a function of its encoding, so names are normalized once per encoding
    (``None``: not known) and shared: a new leaf's issuer is its CA's subject, found
    here without building the name again. Parse errors pass through, uncached.
    """
    found = _NAMES.get(raw) if raw is not None else None
    if found is None:
        found = normalize_name(name())
        if raw is not None:
            _NAMES.put(raw, found)
    return found


class CrlFacts:
    """What revocation checking reads from one CRL, computed on first use.

    ``memo`` holds values that :mod:`trustkit.validation._revocation` derives from
    the CRL alone (its extensions, the index of its entries); signature results
    are kept per signer key.
    """

    __slots__ = ("_issuer_norm", "_signatures", "crl", "memo", "token")

    def __init__(self, crl: x509.CertificateRevocationList) -> None:
        self.crl = crl
        # Names this CRL in other keys; never reused, as an id can be once the CRL is gone.
        self.token = next(_TOKENS)
        self.memo: dict[object, object] = {}
        self._signatures: dict[bytes, bool] = {}
        self._issuer_norm: NormalizedName | None = None

    @property
    def issuer_norm(self) -> NormalizedName:
        """The CRL issuer for RFC 5280 7.1 comparison."""
        if self._issuer_norm is None:
            self._issuer_norm = normalize_name(self.crl.issuer)
        return self._issuer_norm

    def signed_by(self, signer_spki: bytes, check: Callable[[], bool]) -> bool:
        """Whether the key ``signer_spki`` verifies this CRL; ``check`` decides on a miss."""
        found = self._signatures.get(signer_spki)
        if found is None:
            found = self._signatures[signer_spki] = check()
        return found


MAX_RESULTS = 1024
"""Successful validations kept (see ``trustkit.validation._validate._result_key``)."""

MAX_CRLS = 32
"""CRLs whose parsed facts (with the index of their entries) are kept."""

# Facts are looked up dozens of times per validation and cost microseconds to make
# again: first in, first out.
_FACTS: LruCache[int, CertFacts] = LruCache(MAX_CERTIFICATES, refresh=False)
_CRL_FACTS: LruCache[int, CrlFacts] = LruCache(MAX_CRLS)
_facts_get = _FACTS._data.get  # the mapping is cleared, never replaced
_NAMES: LruCache[bytes, NormalizedName] = LruCache(MAX_NAMES, refresh=False)
_SIGNATURES: LruCache[bytes, bool] = LruCache(MAX_SIGNATURES)
POOL_INDEXES: LruCache[tuple[tuple[int, ...], tuple[int, ...]], object] = LruCache(MAX_POOLS)
"""Path building's index of a set of anchors and intermediates, by the ids of the
objects it holds (``trustkit.validation._build.pool_index``)."""
RESULTS: LruCache[Hashable, ValidationResult] = LruCache(MAX_RESULTS)
"""Successful validation results; CRLs are named in the keys by :attr:`CrlFacts.token`."""
_TOKENS = itertools.count()


def facts_of(cert: x509.Certificate) -> CertFacts:
    """The cached facts of ``cert`` (this very object; an equal one parsed again gets its own)."""
    facts = _facts_get(id(cert))  # the hot path: one dict lookup
    if facts is None or facts.cert is not cert:
        facts = CertFacts(cert)
        _FACTS.put(id(cert), facts)
    return facts


def crl_facts_of(crl: x509.CertificateRevocationList) -> CrlFacts:
    """The cached facts of ``crl`` (this very object)."""
    facts = _CRL_FACTS.get(id(crl))
    if facts is None or facts.crl is not crl:
        facts = CrlFacts(crl)
        _CRL_FACTS.put(id(crl), facts)
    return facts


def signature_cached(signer_spki: bytes, signed_der: bytes, check: Callable[[], bool]) -> bool:
    """Whether the key ``signer_spki`` verifies the signature of the whole DER object
    ``signed_der`` (its to-be-signed part, algorithm and value); ``check`` decides
    on a miss. The key covers everything the answer depends on."""
    # SHA-256 of both, to keep entries small: the SPKI is a DER TLV, so the
    # concatenation is unambiguous.
    key = hashlib.sha256(signer_spki + signed_der).digest()
    cached = _SIGNATURES.get(key)
    if cached is None:
        cached = check()
        _SIGNATURES.put(key, cached)
    return cached


def clear_caches() -> None:
    """Forget every cached fact and signature result."""
    _FACTS.clear()
    _CRL_FACTS.clear()
    _NAMES.clear()
    POOL_INDEXES.clear()
    _SIGNATURES.clear()
    RESULTS.clear()
