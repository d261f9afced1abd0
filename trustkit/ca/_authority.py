"""The :class:`CertificateAuthority`: opening and creating CAs, issuing, revoking."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from ..clock import Clock, SystemClock, utc
from ..config import (
    CA_CERT_FILE,
    CHAIN_FILE,
    CAConfig,
    ca_names_in_use,
    check_new_ca_directory,
    choose_ca_name,
    slugify,
)
from ..csr import create_csr, requested_sans
from ..encoding import load_certificate, load_certificates
from ..errors import (
    BatchPolicyViolation,
    ConfigError,
    PolicyViolation,
    ProfileError,
    RevocationError,
    Violation,
)
from ..keys import (
    DEFAULT_CA_KEY_TYPE,
    KeyType,
    PrivateKey,
    generate_key,
    load_private_key_file,
    signature_hash_for,
)
from ..names import format_general_name, format_name
from ..policy import (
    IssuanceRequest,
    IssuanceWarning,
    chain_outcome,
    outlives_chain,
    request_violations,
)
from ..profiles import Profile, check_path_length, get_profile, validity_days
from ..serials import new_serial
from ..store import (
    CertificateRecord,
    CertificateStore,
    CertStatus,
    IssueItem,
    RecordQuery,
    open_store,
)
from ._directory import (
    _as_name,
    _common_name,
    _key_reference,
    _profile_tables,
    write_directory,
)
from ._extensions import ProfileTemplate, certificate_builder, crl_url, make_template
from ._preview import preview_certificate
from ._records import Enrollment, IssuedCertificate, key_identifier

__all__ = ["CertificateAuthority"]


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
        self._templates: dict[str, ProfileTemplate] = {}

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
        check_new_ca_directory(directory)
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
        check_new_ca_directory(directory)
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
        """Write a new CA directory (see :func:`write_directory`) and open it."""
        store = write_directory(
            directory,
            config,
            certificate,
            chain,
            key,
            passphrase=passphrase,
            clock=clock,
            allow_unencrypted_key=allow_unencrypted_key,
            own_record_profile=own_record_profile,
        )
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
            from ..pkcs11 import load_token_key

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
        runs, then the validator's rules on the chain the certificate would have
        (:func:`~trustkit.policy.chain_outcome`);
        :class:`~trustkit.errors.PolicyViolation` lists all that failed.
        ``path_length`` and ``name_constraints`` apply to CA profiles only; without
        ``path_length`` a CA certificate gets the profile's, lowered to what the
        pathLenConstraints above allow.
        """
        prof = self._profile(profile)
        check_path_length(path_length)
        if (path_length is not None or name_constraints is not None) and not prof.is_ca:
            raise ProfileError(
                f"profile {prof.name}: path length and name constraints are for CA profiles"
            )
        now = utc(at) if at is not None else self.clock.now()
        request = self._request(
            csr,
            prof,
            days=days,
            subject=subject,
            sans=sans,
            now=now,
            path_length=path_length,
            name_constraints=name_constraints,
        )
        violations, draft = self._check(request)
        if violations or draft is None:
            raise PolicyViolation(violations)
        item = self._item(request, draft)
        record = self.store.issue(self.id, prof.name, item.build, at=now, shard=item.shard)
        return IssuedCertificate(record.certificate, record, (self.certificate, *self.chain))

    def issue_many(
        self, enrollments: Iterable[Enrollment], *, at: datetime | None = None
    ) -> list[IssuedCertificate]:
        """Issue a certificate for each enrollment, all recorded in one store transaction.

        All or nothing: every enrollment is checked first (as :meth:`issue`
        checks one), and if any breaks the policy (or names an unknown profile)
        nothing is signed or written and one
        :class:`~trustkit.errors.BatchPolicyViolation` reports the violations of
        every failing enrollment by its index. Otherwise each gets a fresh
        serial, and the whole batch is committed at once (one commit instead of
        one per certificate) before anything is returned. Results come in the
        order of ``enrollments``.
        """
        now = utc(at) if at is not None else self.clock.now()
        checked: list[tuple[IssuanceRequest, _Draft]] = []
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
            violations, draft = self._check(request)
            if violations or draft is None:
                failures[index] = violations
            else:
                checked.append((request, draft))
        if failures:
            raise BatchPolicyViolation(failures)
        items = [self._item(request, draft) for request, draft in checked]
        records = self.store.issue_many(self.id, items, at=now)
        chain = (self.certificate, *self.chain)
        return [IssuedCertificate(record.certificate, record, chain) for record in records]

    def _profile(self, profile: str | Profile) -> Profile:
        return (
            profile if isinstance(profile, Profile) else get_profile(profile, self.config.profiles)
        )

    def _request(
        self,
        csr: x509.CertificateSigningRequest,
        profile: Profile,
        *,
        days: int | None,
        subject: str | x509.Name | None,
        sans: Sequence[x509.GeneralName] | None,
        now: datetime,
        path_length: int | None = None,
        name_constraints: x509.NameConstraints | None = None,
    ) -> IssuanceRequest:
        """What will be certified: names from the CSR unless given, validity from the profile."""
        validity = validity_days(days) if days is not None else profile.validity
        not_after = now + validity
        if days is None and not profile.may_outlive_issuer:
            # The profile's default never outlives a CA above (RFC 5280 6.1.3 would
            # reject the tail); an explicit --days beyond it is a violation instead.
            end = min(c.not_valid_after_utc for c in (self.certificate, *self.chain))
            if end > now:  # else the chain has expired: refused, not made zero-length
                not_after = min(not_after, end)
        return IssuanceRequest(
            csr=csr,
            profile=profile,
            subject=_as_name(subject) if subject is not None else csr.subject,
            sans=tuple(sans) if sans is not None else tuple(requested_sans(csr)),
            not_before=now,
            not_after=not_after,
            issuer=self.certificate,
            validity_requested=days is not None,
            chain=self.chain,
            path_length=path_length,
            name_constraints=name_constraints,
        )

    def _check(self, request: IssuanceRequest) -> tuple[list[Violation], _Draft | None]:
        """Every way ``request`` breaks the policy, and the certificate drafted for it.

        The request's own checks run first; then the certificate it would become
        is built and judged by the validator's rules on its chain, with a placeholder
        signature (:func:`~trustkit.ca._preview.preview_certificate`), never the CA's.
        """
        violations = request_violations(request)
        if len(request.sans) > request.profile.max_sans:
            return violations, None  # refused already; not worth building
        shards = self.config.crl_shards
        shard = secrets.randbelow(shards) if shards > 0 else 0
        try:
            builder = self._builder(request, shard, path_length=request.path_length)
            outcome = chain_outcome(request, preview_certificate(builder, self.certificate))
        except (ValueError, TypeError) as exc:
            if not violations:  # else the request's own violations say why
                violations.append(
                    Violation("certificate", "certificate", f"cannot be built ({exc})")
                )
            return violations, None
        violations.extend(outcome.violations)
        if request.profile.is_ca:
            fitted = outcome.fitted_path_length(request)
            if fitted != request.path_length:
                builder = self._builder(request, shard, path_length=fitted)
        outlived = outlives_chain(request)
        if outlived is not None and request.profile.may_outlive_issuer and not violations:
            warnings.warn(
                IssuanceWarning(f"profile {request.profile.name}: {outlived}"), stacklevel=3
            )
        return violations, _Draft(builder, shard)

    def _item(self, request: IssuanceRequest, draft: _Draft) -> IssueItem:
        """The store's work item for a checked request: shard, names and a signing function."""
        key = self.key
        algorithm = signature_hash_for(key)
        builder = draft.builder

        def sign(serial: int) -> x509.Certificate:
            return builder.serial_number(serial).sign(key, algorithm)

        return IssueItem(
            request.profile.name,
            sign,
            draft.shard,
            subject=format_name(request.subject),
            sans=tuple(format_general_name(name) for name in request.sans),
        )

    def _builder(
        self, request: IssuanceRequest, shard: int, *, path_length: int | None
    ) -> x509.CertificateBuilder:
        """The certificate builder for ``request``, waiting for its serial number."""
        return certificate_builder(
            self._template(request.profile),
            request,
            shard,
            path_length=path_length,
            name_constraints=request.name_constraints,
        )

    def _template(self, profile: Profile) -> ProfileTemplate:
        """The extensions every certificate of ``profile`` shares, made once per CA and profile."""
        cached = self._templates.get(profile.name)
        if cached is not None and cached.profile is profile and cached.config is self.config:
            return cached
        template = self._templates[profile.name] = make_template(
            profile, self.config, self.certificate
        )
        return template

    def crl_url(self, shard: int = 0) -> str | None:
        """The CRL distribution point URL for certificates of ``shard``."""
        return crl_url(self.config, shard)

    # -- the store ------------------------------------------------------------

    def get(self, serial: int) -> CertificateRecord:
        """The record of a certificate this CA issued."""
        return self.store.get(self.id, serial)

    def list(
        self,
        query: RecordQuery | None = None,
        *,
        status: CertStatus | None = None,
        der: bool = True,
    ) -> Iterator[CertificateRecord]:
        """The records of the certificates this CA issued that ``query`` selects (all by
        default), oldest first, streamed a page at a time (:meth:`CertificateStore.list`)."""
        return self.store.list(self.id, query, status=status, der=der)

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


@dataclass(frozen=True)
class _Draft:
    """A checked certificate waiting for its serial number and the CA's signature."""

    builder: x509.CertificateBuilder
    shard: int
