"""The certificate authority: a root or subordinate CA that issues from CSRs.

Three lines from nothing to a certificate::

    ca = CertificateAuthority.create_root("CN=Example Root CA,O=Example,C=EX", "ca",
                                          passphrase=b"...")
    issued = ca.issue(csr, "tls-server")

Issuance is a pipeline: the request is assembled (subject and SANs from the
CSR, validity from the profile), every check of :mod:`trustkit.policy` runs
and all violations are reported at once, the certificate is built from the
profile, and the store takes a fresh serial, signs with it and commits the
record in one transaction before the certificate is returned.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID

from ._files import make_private_directory, write_atomic
from .clock import Clock, SystemClock, utc
from .config import (
    CA_CERT_FILE,
    CHAIN_FILE,
    DEFAULT_KEY_FILE,
    CAConfig,
    ca_names_in_use,
    check_new_ca_directory,
    choose_ca_name,
    slugify,
)
from .csr import create_csr, requested_sans
from .encoding import load_certificate, load_certificates, pem_encode
from .errors import (
    BatchPolicyViolation,
    ConfigError,
    PassphraseError,
    ProfileError,
    RevocationError,
    Violation,
)
from .keys import (
    DEFAULT_CA_KEY_TYPE,
    KeyType,
    PrivateKey,
    generate_key,
    load_private_key_file,
    save_private_key,
    signature_hash_for,
)
from .names import format_general_name, format_name, parse_name
from .policy import IssuanceRequest, check_request, request_violations
from .profiles import (
    Profile,
    check_path_length,
    get_profile,
    profiles_from_config,
    validity_days,
)
from .serials import new_serial
from .store import CertificateRecord, CertificateStore, CertStatus, IssueItem, open_store

__all__ = ["CertificateAuthority", "Enrollment", "IssuedCertificate", "key_identifier"]

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")


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


_Ext = x509.Extension[x509.ExtensionType]


def _extension(value: x509.ExtensionType, critical: bool) -> _Ext:
    return x509.Extension(value.oid, critical, value)


@dataclass(frozen=True)
class _ProfileTemplate:
    """The extensions all certificates of one profile share, in certificate order."""

    profile: Profile
    config: CAConfig
    """The configuration the URLs were taken from (a new one makes a new template)."""
    head: tuple[_Ext, ...]
    """keyUsage and extendedKeyUsage."""
    authority_key_identifier: _Ext
    policies: tuple[_Ext, ...]
    tail: tuple[_Ext, ...]
    """authorityInfoAccess, qcStatements, ocspNoCheck."""
    shard_extensions: Callable[[Profile, int], tuple[_Ext, ...]]
    _shards: dict[int, tuple[_Ext, ...]] = field(default_factory=dict)

    def for_shard(self, shard: int) -> tuple[_Ext, ...]:
        """cRLDistributionPoints and freshestCRL of ``shard``, made once."""
        cached = self._shards.get(shard)
        if cached is None:
            cached = self._shards[shard] = self.shard_extensions(self.profile, shard)
        return cached


def _profile_tables(
    profiles: Mapping[str, Mapping[str, Any]] | None,
) -> Mapping[str, Mapping[str, Any]]:
    """``[profiles.*]`` tables for a new CA's configuration, checked before anything is made."""
    tables = MappingProxyType({name: dict(table) for name, table in (profiles or {}).items()})
    profiles_from_config(tables)
    return tables


def _as_name(subject: str | x509.Name) -> x509.Name:
    return parse_name(subject) if isinstance(subject, str) else subject


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = values[0].value if values else name.rfc4514_string()
    return value if isinstance(value, str) else value.decode("latin-1")


class CertificateAuthority:
    """A CA directory opened for use: its certificate, key, configuration and store.

    Open an existing one with :meth:`open`; make one with :meth:`create_root`
    or :meth:`create_subordinate`. The private key is loaded on first use, so
    reading the store needs no passphrase.
    """

    def __init__(
        self,
        directory: Path,
        config: CAConfig,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        store: CertificateStore,
        *,
        key: PrivateKey | None = None,
        passphrase: bytes | Callable[[], bytes] | None = None,
        pin: str | Callable[[], str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.directory = directory
        self.config = config
        self.certificate = certificate
        self.chain = tuple(chain)
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.id = key_identifier(certificate)
        self._key = key
        self._passphrase = passphrase
        self._pin = pin
        self._templates: dict[str, _ProfileTemplate] = {}

    # -- opening and creating -------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | Path,
        *,
        passphrase: bytes | Callable[[], bytes] | None = None,
        pin: str | Callable[[], str] | None = None,
        clock: Clock | None = None,
    ) -> CertificateAuthority:
        """Open the CA in ``directory``; the key is read when first needed.

        ``passphrase`` (for a key file) and ``pin`` (for a key on a PKCS#11
        token; else ``$TRUSTKIT_PKCS11_PIN``) may be functions, called only
        if the key is needed.
        """
        directory = Path(directory)
        config = CAConfig.load(directory)
        try:
            certificate = load_certificate(
                (directory / CA_CERT_FILE).read_bytes(), what=str(directory / CA_CERT_FILE)
            )
            chain_path = directory / CHAIN_FILE
            chain_bytes = chain_path.read_bytes() if chain_path.exists() else b""
        except FileNotFoundError as exc:
            raise ConfigError(f"{directory}: CA certificate missing ({exc.filename})") from None
        chain = load_certificates(chain_bytes, what=str(chain_path)) if chain_bytes.strip() else []
        store = open_store(config.store_url(directory))
        return cls(
            directory,
            config,
            certificate,
            chain,
            store,
            passphrase=passphrase,
            pin=pin,
            clock=clock,
        )

    @classmethod
    def create_root(
        cls,
        subject: str | x509.Name,
        directory: str | Path,
        *,
        passphrase: bytes | None,
        key_type: KeyType | str = DEFAULT_CA_KEY_TYPE,
        key: PrivateKey | None = None,
        days: int | None = None,
        name: str | None = None,
        base_url: str | None = None,
        store: str | None = None,
        path_length: int | None = None,
        clock: Clock | None = None,
        allow_unencrypted_key: bool = False,
        profiles: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> CertificateAuthority:
        """Make a self-signed root CA in ``directory`` (which must not hold a CA yet).

        ``key`` uses an existing key instead of generating one of ``key_type``:
        a software key is written encrypted like a generated one, a key on a
        PKCS#11 token stays there and the configuration names its URI.
        ``profiles`` holds ``[profiles.*]`` tables for the CA's configuration.
        """
        directory = Path(directory)
        _check_free(directory)
        clock = clock or SystemClock()
        subject_name = _as_name(subject)
        key_reference, module = _key_reference(key)
        config = CAConfig(
            name=name or slugify(_common_name(subject_name)),
            base_url=base_url,
            store=store,
            key=key_reference,
            pkcs11_module=module,
            profile_tables=_profile_tables(profiles),
        )
        profile = get_profile("root-ca", config.profiles)
        now = clock.now()
        validity = validity_days(days) if days is not None else profile.validity
        check_path_length(path_length)
        if validity > profile.max_validity:
            raise ProfileError(
                f"--days {validity.days}: a root CA lasts at most {profile.max_validity.days} days"
            )
        own_key = key if key is not None else generate_key(key_type)
        public_key = own_key.public_key()
        ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(subject_name)
            .public_key(public_key)
            .serial_number(new_serial())
            .not_valid_before(now)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(profile.key_usage_extension(), critical=True)
            .add_extension(ski, critical=False)
            # RFC 5280 4.2.1.1 lets a self-signed CA omit authorityKeyIdentifier; CA/B
            # Forum BR 7.1.2.1.2 recommends it, with keyIdentifier equal to the SKI and
            # nothing else (7.1.2.1.3).
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
        )
        certificate = builder.sign(own_key, signature_hash_for(own_key))
        return cls._materialise(
            directory,
            config,
            certificate,
            (),
            own_key,
            passphrase=passphrase,
            clock=clock,
            allow_unencrypted_key=allow_unencrypted_key,
            own_record_profile="root-ca",
        )

    def create_subordinate(
        self,
        subject: str | x509.Name,
        directory: str | Path,
        *,
        passphrase: bytes | None,
        key_type: KeyType | str = DEFAULT_CA_KEY_TYPE,
        key: PrivateKey | None = None,
        days: int | None = None,
        name: str | None = None,
        base_url: str | None = None,
        store: str | None = None,
        path_length: int | None = 0,
        name_constraints: x509.NameConstraints | None = None,
        allow_unencrypted_key: bool = False,
        profiles: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> CertificateAuthority:
        """Make an issuing CA under this one, in its own ``directory``.

        The subordinate's certificate is issued through the ``sub-ca`` profile
        and recorded in this CA's store; ``base_url`` defaults to this CA's.
        ``profiles`` holds ``[profiles.*]`` tables for the new CA's configuration.
        """
        directory = Path(directory)
        _check_free(directory)
        subject_name = _as_name(subject)
        key_reference, module = _key_reference(key)
        # The hierarchy above must not share the name: it names the CRL and CA URLs.
        in_use = ca_names_in_use(
            directory,
            parent_directory=self.directory,
            parent_name=self.config.name,
            chain=(self.certificate, *self.chain),
            siblings=False,
        )
        config = CAConfig(
            name=choose_ca_name(name, subject_name, in_use),
            base_url=base_url if base_url is not None else self.config.base_url,
            store=store,
            key=key_reference,
            pkcs11_module=module,
            profile_tables=_profile_tables(profiles),
        )
        own_key = key if key is not None else generate_key(key_type)
        csr = create_csr(own_key, subject_name)
        issued = self.issue(
            csr,
            "sub-ca",
            days=days,
            path_length=path_length,
            name_constraints=name_constraints,
        )
        return self._materialise(
            directory,
            config,
            issued.certificate,
            (self.certificate, *self.chain),
            own_key,
            passphrase=passphrase,
            clock=self.clock,
            allow_unencrypted_key=allow_unencrypted_key,
        )

    @classmethod
    def _materialise(
        cls,
        directory: Path,
        config: CAConfig,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate],
        key: PrivateKey,
        *,
        passphrase: bytes | None,
        clock: Clock,
        allow_unencrypted_key: bool,
        own_record_profile: str | None = None,
    ) -> CertificateAuthority:
        """Write a new CA directory; on any failure remove what was written.

        A software key is written encrypted to the key file; a key on a token
        (the configuration holds its URI) stays there.
        """
        _check_free(directory)
        key_path = config.key_path(directory)
        if key_path is not None and not passphrase and not allow_unencrypted_key:
            raise PassphraseError("CA key: a passphrase is needed (keys are encrypted at rest)")
        created_dirs = make_private_directory(directory)
        written: list[Path] = []
        store: CertificateStore | None = None
        try:
            if key_path is not None:
                written.append(
                    save_private_key(
                        key,
                        key_path,
                        passphrase or None,
                        allow_unencrypted=allow_unencrypted_key,
                        exclusive=True,
                    )
                )
            written.append(
                write_atomic(
                    directory / CA_CERT_FILE,
                    pem_encode("CERTIFICATE", certificate.public_bytes(Encoding.DER)),
                    exclusive=True,
                )
            )
            written.append(
                write_atomic(
                    directory / CHAIN_FILE,
                    b"".join(
                        pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in chain
                    ),
                    exclusive=True,
                )
            )
            store_url = config.store_url(directory)
            if store_url.startswith("sqlite:///"):
                written.extend(
                    Path(store_url.removeprefix("sqlite:///") + suffix)
                    for suffix in ("", "-wal", "-shm")
                )
            store = open_store(store_url)
            if own_record_profile is not None:
                store.add(
                    key_identifier(certificate), own_record_profile, certificate, at=clock.now()
                )
            config.write(directory, exclusive=True)
        except BaseException:
            if store is not None:
                store.close()
            for path in written:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            for created in reversed(created_dirs):
                with contextlib.suppress(OSError):
                    created.rmdir()
            raise
        return cls(
            directory,
            config,
            certificate,
            chain,
            store,
            key=key,
            passphrase=passphrase,
            clock=clock,
        )

    # -- the key --------------------------------------------------------------

    @property
    def key(self) -> PrivateKey:
        """The CA's private key, loaded (and decrypted) on first use."""
        if self._key is None:
            self._key = self._load_key()
        return self._key

    def _load_key(self) -> PrivateKey:
        path = self.config.key_path(self.directory)
        if path is None:
            from .pkcs11 import load_token_key

            pin = self._pin() if callable(self._pin) else self._pin
            return load_token_key(self.config.key, pin=pin, module=self.config.pkcs11_module)
        passphrase = self._passphrase() if callable(self._passphrase) else self._passphrase
        return load_private_key_file(path, passphrase)

    # -- issuing --------------------------------------------------------------

    @property
    def profiles(self) -> dict[str, Profile]:
        """The profiles this CA issues under."""
        return dict(self.config.profiles)

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        profile: str | Profile = "tls-server",
        *,
        days: int | None = None,
        subject: str | x509.Name | None = None,
        sans: Sequence[x509.GeneralName] | None = None,
        at: datetime | None = None,
        path_length: int | None = None,
        name_constraints: x509.NameConstraints | None = None,
    ) -> IssuedCertificate:
        """Issue a certificate for ``csr`` under ``profile``.

        The subject and SANs come from the CSR unless given. Every policy check
        runs; :class:`~trustkit.errors.PolicyViolation` lists all that failed.
        ``path_length`` and ``name_constraints`` apply to CA profiles only.
        """
        prof = self._profile(profile)
        check_path_length(path_length)
        if (path_length is not None or name_constraints is not None) and not prof.is_ca:
            raise ProfileError(
                f"profile {prof.name}: path length and name constraints are for CA profiles"
            )
        now = utc(at) if at is not None else self.clock.now()
        request = self._request(csr, prof, days=days, subject=subject, sans=sans, now=now)
        check_request(request)
        item = self._item(request, path_length=path_length, name_constraints=name_constraints)
        record = self.store.issue(self.id, prof.name, item.build, at=now, shard=item.shard)
        return IssuedCertificate(record.certificate, record, (self.certificate, *self.chain))

    def issue_many(
        self, enrollments: Iterable[Enrollment], *, at: datetime | None = None
    ) -> list[IssuedCertificate]:
        """Issue a certificate for each enrollment, all recorded in one store transaction.

        All or nothing: every enrollment is checked first, and if any breaks
        the policy (or names an unknown profile) nothing is signed or written
        and one :class:`~trustkit.errors.BatchPolicyViolation` reports the
        violations of every failing enrollment by its index. Otherwise each
        gets a fresh serial, and the whole batch is committed at once (one
        commit instead of one per certificate) before anything is returned.
        Results come in the order of ``enrollments``.
        """
        now = utc(at) if at is not None else self.clock.now()
        requests: list[IssuanceRequest] = []
        failures: dict[int, list[Violation]] = {}
        for index, enrollment in enumerate(enrollments):
            try:
                prof = self._profile(enrollment.profile)
            except ProfileError as exc:
                failures[index] = [Violation("profile", "profile", str(exc))]
                continue
            request = self._request(
                enrollment.csr,
                prof,
                days=enrollment.days,
                subject=enrollment.subject,
                sans=enrollment.sans,
                now=now,
            )
            violations = request_violations(request)
            if violations:
                failures[index] = violations
            requests.append(request)
        if failures:
            raise BatchPolicyViolation(failures)
        items = [self._item(request) for request in requests]
        records = self.store.issue_many(self.id, items, at=now)
        chain = (self.certificate, *self.chain)
        return [IssuedCertificate(record.certificate, record, chain) for record in records]

    def _profile(self, profile: str | Profile) -> Profile:
        return profile if isinstance(profile, Profile) else get_profile(profile, self.profiles)

    def _request(
        self,
        csr: x509.CertificateSigningRequest,
        profile: Profile,
        *,
        days: int | None,
        subject: str | x509.Name | None,
        sans: Sequence[x509.GeneralName] | None,
        now: datetime,
    ) -> IssuanceRequest:
        """What will be certified: names from the CSR unless given, validity from the profile."""
        validity = validity_days(days) if days is not None else profile.validity
        not_after = now + validity
        if days is None:
            # The profile's default never outlives the issuer (RFC 5280 6.1.3 would
            # reject the tail); an explicit --days beyond it is a violation instead.
            not_after = min(not_after, self.certificate.not_valid_after_utc)
        return IssuanceRequest(
            csr=csr,
            profile=profile,
            subject=_as_name(subject) if subject is not None else csr.subject,
            sans=tuple(sans) if sans is not None else tuple(requested_sans(csr)),
            not_before=now,
            not_after=not_after,
            issuer=self.certificate,
            validity_requested=days is not None,
        )

    def _item(
        self,
        request: IssuanceRequest,
        *,
        path_length: int | None = None,
        name_constraints: x509.NameConstraints | None = None,
    ) -> IssueItem:
        """The store's work item for a checked request: shard, names and a signing function."""
        key = self.key
        algorithm = signature_hash_for(key)
        shards = self.config.crl_shards
        shard = secrets.randbelow(shards) if shards > 0 else 0
        builder = self._builder(
            request, shard, path_length=path_length, name_constraints=name_constraints
        )

        def sign(serial: int) -> x509.Certificate:
            return builder.serial_number(serial).sign(key, algorithm)

        return IssueItem(
            request.profile.name,
            sign,
            shard,
            subject=format_name(request.subject),
            sans=tuple(format_general_name(name) for name in request.sans),
        )

    def _builder(
        self,
        request: IssuanceRequest,
        shard: int,
        *,
        path_length: int | None,
        name_constraints: x509.NameConstraints | None,
    ) -> x509.CertificateBuilder:
        """The certificate builder for ``request``, waiting for its serial number."""
        profile = request.profile
        template = self._template(profile)
        public_key = request.csr.public_key()
        extensions: list[_Ext] = []
        if profile.is_ca:
            length = path_length if path_length is not None else profile.path_length
            extensions.append(_extension(x509.BasicConstraints(ca=True, path_length=length), True))
        extensions.extend(template.head)
        extensions.append(_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False))
        extensions.append(template.authority_key_identifier)
        if request.sans:
            # RFC 5280 4.2.1.6: critical when the subject is empty.
            extensions.append(
                _extension(
                    x509.SubjectAlternativeName(list(request.sans)), not list(request.subject)
                )
            )
        extensions.extend(template.policies)
        if name_constraints is not None:
            # RFC 5280 4.2.1.10: conforming CAs MUST mark name constraints critical.
            extensions.append(_extension(name_constraints, True))
        extensions.extend(template.tail)
        extensions.extend(template.for_shard(shard))
        # The extensions go in at once: each is of a distinct type by construction,
        # and add_extension's duplicate scan per call would cost more than signing's
        # share of the Python work.
        return (
            x509.CertificateBuilder(extensions=extensions)
            .subject_name(request.subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .not_valid_before(request.not_before)
            .not_valid_after(request.not_after)
        )

    def _template(self, profile: Profile) -> _ProfileTemplate:
        """The extensions every certificate of ``profile`` shares, made once per CA and profile."""
        cached = self._templates.get(profile.name)
        if cached is not None and cached.profile is profile and cached.config is self.config:
            return cached
        head: list[_Ext] = [_extension(profile.key_usage_extension(), True)]
        if profile.extended_key_usage:
            head.append(
                _extension(
                    x509.ExtendedKeyUsage(list(profile.extended_key_usage)),
                    profile.extended_key_usage_critical,
                )
            )
        policies: list[_Ext] = []
        if profile.certificate_policies:
            policies.append(
                _extension(
                    x509.CertificatePolicies(
                        [
                            x509.PolicyInformation(x509.ObjectIdentifier(oid), None)
                            for oid in profile.certificate_policies
                        ]
                    ),
                    False,
                )
            )
        tail: list[_Ext] = []
        aia = self._authority_information_access(profile)
        if aia is not None:
            tail.append(_extension(aia, False))
        if profile.qc_statements is not None:
            from ._asn1 import encode_qc_statements

            qc = profile.qc_statements
            der = encode_qc_statements(
                compliance=qc.compliance,
                sscd=qc.sscd,
                qc_type=qc.qc_type.value if qc.qc_type else None,
                pds=tuple((url, language) for language, url in qc.pds),
                semantics_id=qc.semantics_id,
            )
            tail.append(_extension(x509.UnrecognizedExtension(QC_STATEMENTS_OID, der), False))
        if profile.ocsp_no_check:
            tail.append(_extension(x509.OCSPNoCheck(), False))
        template = _ProfileTemplate(
            profile=profile,
            config=self.config,
            head=tuple(head),
            authority_key_identifier=_extension(self._authority_key_identifier(), False),
            policies=tuple(policies),
            tail=tuple(tail),
            shard_extensions=self._shard_extensions,
        )
        self._templates[profile.name] = template
        return template

    def _shard_extensions(self, profile: Profile, shard: int) -> tuple[_Ext, ...]:
        """Where the CRL (and delta CRL) of ``shard`` is published, if ``profile`` says so."""
        crl_dp = self._crl_distribution_points(profile, shard)
        if crl_dp is None:
            return ()
        extensions = [_extension(crl_dp, False)]
        url = self.crl_url(shard)
        if url is not None and self.config.crl_delta:
            # RFC 5280 4.2.1.15: where the delta CRL is; non-critical.
            stem, dot, ext = url.rpartition(".")
            delta = f"{stem}-delta.{ext}" if dot else f"{url}-delta"
            point = x509.DistributionPoint(
                [x509.UniformResourceIdentifier(delta)], None, None, None
            )
            extensions.append(_extension(x509.FreshestCRL([point]), False))
        return tuple(extensions)

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.certificate.public_key()  # type: ignore[arg-type]
            )

    def crl_url(self, shard: int = 0) -> str | None:
        """The CRL distribution point URL for certificates of ``shard``."""
        url = self.config.effective_crl_url
        if url is None or self.config.crl_shards <= 0:
            return url
        stem, dot, ext = url.rpartition(".")
        return f"{stem}-{shard}.{ext}" if dot else f"{url}-{shard}"

    def _crl_distribution_points(
        self, profile: Profile, shard: int
    ) -> x509.CRLDistributionPoints | None:
        url = self.crl_url(shard)
        if not profile.revocation_info or url is None:
            return None
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        return x509.CRLDistributionPoints([point])

    def _authority_information_access(
        self, profile: Profile
    ) -> x509.AuthorityInformationAccess | None:
        descriptions = []
        ocsp = self.config.effective_ocsp_url
        if profile.revocation_info and ocsp is not None:
            descriptions.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp)
                )
            )
        issuers = self.config.effective_ca_issuers_url
        if issuers is not None:
            descriptions.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS,
                    x509.UniformResourceIdentifier(issuers),
                )
            )
        return x509.AuthorityInformationAccess(descriptions) if descriptions else None

    # -- the store ------------------------------------------------------------

    def get(self, serial: int) -> CertificateRecord:
        """The record of a certificate this CA issued."""
        return self.store.get(self.id, serial)

    def list(self, *, status: CertStatus | None = None) -> Iterator[CertificateRecord]:
        """The records of every certificate this CA issued, oldest first."""
        return self.store.list(self.id, status=status)

    def revoke(
        self,
        serial: int,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
        *,
        at: datetime | None = None,
        invalidity_date: datetime | None = None,
    ) -> CertificateRecord:
        """Revoke a certificate this CA issued (RFC 5280 5.3.1 reason codes)."""
        if reason == x509.ReasonFlags.remove_from_crl:
            raise RevocationError("reason removeFromCRL is only for delta CRLs (RFC 5280 5.3.1)")
        return self.store.revoke(
            self.id,
            serial,
            reason=reason,
            at=utc(at) if at is not None else self.clock.now(),
            invalidity_date=invalidity_date,
        )

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> CertificateAuthority:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CertificateAuthority {self.config.name} {format_name(self.certificate.subject)}>"


def _key_reference(key: PrivateKey | None) -> tuple[str, str | None]:
    """Where the configuration finds the key: a file, or a token's URI and module."""
    uri = getattr(key, "uri", None)
    if uri is None:
        return DEFAULT_KEY_FILE, None
    module = getattr(getattr(key, "token", None), "module_path", None)
    return str(uri), None if module is None else str(module)


def _check_free(directory: Path) -> None:
    check_new_ca_directory(directory)
