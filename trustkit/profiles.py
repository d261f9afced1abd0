"""Certificate profiles: what a certificate of each kind looks like.

A :class:`Profile` is frozen data: key usage, extended key usage, validity,
which subject attributes and SAN kinds it takes, certificate policies and
ETSI QCStatements. The built-in profiles cover a national PKI (see
:data:`BUILTIN_PROFILES`); a CA's ``trustkit.toml`` can override their
validity and define new ones under ``[profiles.NAME]`` with ``base = "..."``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from .errors import InputError, ProfileError
from .keys import KeyType
from .validation._model import Purpose

__all__ = [
    "ANY_POLICY",
    "BUILTIN_PROFILES",
    "DEFAULT_CA_VALIDITY",
    "DEFAULT_LEAF_VALIDITY",
    "DEFAULT_MAX_SANS",
    "DEFAULT_ROOT_VALIDITY",
    "ETSI_POLICY",
    "MAX_VALIDITY_DAYS",
    "KeyUsageBit",
    "Profile",
    "QCStatements",
    "QcType",
    "SanKind",
    "check_path_length",
    "get_profile",
    "profiles_from_config",
    "validity_days",
]

DEFAULT_LEAF_VALIDITY = timedelta(days=365)
DEFAULT_CA_VALIDITY = timedelta(days=10 * 365)
DEFAULT_ROOT_VALIDITY = timedelta(days=20 * 365)
TLS_SERVER_MAX_VALIDITY = timedelta(days=46)
"""CA/Browser Forum baseline requirements 6.3.2 as amended by ballot SC-081: 200 days
from 2026-03-15, 100 days from 2027-03-15 and 47 days from 2029-03-15. The built-in
profile keeps to the last step, so it conforms whenever it issues. BR 1.6.1 (and
RFC 5280 4.1.2.5) count the validity period from notBefore through notAfter
inclusive: 46 days between them is 46 days and one second, within 47. A private PKI
can raise it with ``[profiles.tls-server] validity_days``."""
TLS_SERVER_VALIDITY = timedelta(days=45)
"""Default tls-server validity: a day under the maximum, clear of the one-day
"SHOULD NOT" margin that linters (pkilint) apply below each BR 6.3.2 limit."""

MAX_VALIDITY_DAYS = 36525
"""A century: the longest validity asked for anywhere (``days=``, ``--days``,
``validity_days``). Longer is a typo, and would push notAfter past the dates
Python and GeneralizedTime hold (year 9999)."""


def validity_days(days: object, *, field: str = "days") -> timedelta:
    """``days`` as a validity period, or :class:`~trustkit.errors.InputError` naming ``field``.

    A whole number from 1 to :data:`MAX_VALIDITY_DAYS`; zero or less would
    put notAfter before notBefore (RFC 5280 4.1.2.5), and ``True`` is not a number.
    """
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_VALIDITY_DAYS:
        raise InputError(
            f"{field} {days!r}: must be a whole number of days from 1 to "
            f"{MAX_VALIDITY_DAYS} (a century)"
        )
    return timedelta(days=days)


def check_path_length(value: object, *, field: str = "path_length") -> int | None:
    """``value`` as a pathLenConstraint, or :class:`~trustkit.errors.InputError` naming ``field``.

    ``None`` (no constraint) or a whole number of 0 or more (RFC 5280 4.2.1.9).
    """
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(f"{field} {value!r}: must be a whole number, 0 or more (RFC 5280 4.2.1.9)")
    return value


ANY_POLICY = "2.5.29.32.0"

DEFAULT_MAX_SANS = 100
"""Most subjectAltName entries one certificate may carry. The CA/Browser Forum sets no
number; 100 is what the largest public CAs issue, and a bound keeps a hostile request
from making a certificate every relying party must parse at length."""


class ETSI_POLICY:
    """Certificate policy OIDs of ETSI EN 319 411-1/-2."""

    NCP = "0.4.0.2042.1.1"
    NCP_PLUS = "0.4.0.2042.1.2"
    QCP_N = "0.4.0.194112.1.0"
    QCP_L = "0.4.0.194112.1.1"
    QCP_N_QSCD = "0.4.0.194112.1.2"
    QCP_L_QSCD = "0.4.0.194112.1.3"


class KeyUsageBit(enum.Enum):
    """The key usage bits of RFC 5280 4.2.1.3, named as cryptography's KeyUsage names them."""

    DIGITAL_SIGNATURE = "digital_signature"
    CONTENT_COMMITMENT = "content_commitment"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"

    @classmethod
    def parse(cls, text: str) -> KeyUsageBit:
        """From ``digitalSignature`` (RFC 5280 spelling) or ``digital_signature``."""
        key = re.sub(r"(?<!^)(?=[A-Z])", "_", text).lower()
        if key == "non_repudiation":
            key = "content_commitment"
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(b.value for b in cls)
            raise ProfileError(f"key usage {text!r}: unknown; use one of {allowed}") from None


class SanKind(enum.Enum):
    """Kinds of subject alternative name a profile accepts."""

    DNS = "dns"
    IP = "ip"
    EMAIL = "email"
    URI = "uri"
    DIRNAME = "dirname"

    @classmethod
    def of(cls, name: x509.GeneralName) -> SanKind | None:
        """The kind of a general name, or ``None`` for kinds trustkit does not issue."""
        return _SAN_KIND_OF.get(type(name))


_SAN_KIND_OF: dict[type, SanKind] = {
    x509.DNSName: SanKind.DNS,
    x509.IPAddress: SanKind.IP,
    x509.RFC822Name: SanKind.EMAIL,
    x509.UniformResourceIdentifier: SanKind.URI,
    x509.DirectoryName: SanKind.DIRNAME,
}


class QcType(enum.Enum):
    """ETSI EN 319 412-5 4.2.3 QcType values."""

    ESIGN = "0.4.0.1862.1.6.1"
    ESEAL = "0.4.0.1862.1.6.2"
    WEB = "0.4.0.1862.1.6.3"


@dataclass(frozen=True)
class QCStatements:
    """Which ETSI EN 319 412-5 QCStatements a certificate carries."""

    compliance: bool = True
    """esi4-qcStatement-1: an EU qualified certificate."""
    sscd: bool = False
    """esi4-qcStatement-4: the private key is in a qualified signature creation device."""
    qc_type: QcType | None = None
    """esi4-qcStatement-6: e-signature, e-seal or website authentication."""
    pds: tuple[tuple[str, str], ...] = ()
    """esi4-qcStatement-5: where the PKI disclosure statements are published, as
    (ISO 639-1 language, https URL) pairs, one of them in English (EN 319 412-5 4.3.4)."""
    semantics_id: str | None = None
    """ETSI EN 319 412-1 5.1: the semantics identifier OID of serialNumber or
    organizationIdentifier, such as id-etsi-qcs-semanticsId-Natural."""

    def __post_init__(self) -> None:
        problem = _pds_problem(self.pds)
        if problem is not None:
            raise ProfileError(f"QCStatements pds: {problem}")


def _pds_problem(pds: Sequence[tuple[str, str]]) -> str | None:
    """What in ``pds`` breaks EN 319 412-5 4.3.4, or ``None``."""
    for language, url in pds:
        if not (len(language) == 2 and language.isascii() and language.isalpha()):
            return f"{language!r}: the language must be an ISO 639-1 code such as en"
        if language != language.lower():
            return f"{language!r}: write the language code in lower case"
        try:
            host = urlsplit(url).hostname if url.startswith("https://") else None
        except ValueError:
            host = None
        if not host:
            return f"{url!r}: the PKI disclosure statement URL must be https (EN 319 412-5 4.3.4)"
        if not url.isascii() or any(c.isspace() for c in url):
            return f"{url!r}: the URL must be ASCII without spaces (an IA5String)"
    languages = [language for language, _ in pds]
    if len(set(languages)) != len(languages):
        return "one URL per language"
    if pds and "en" not in languages:
        return "one PKI disclosure statement must be in English (en) (EN 319 412-5 4.3.4)"
    return None


SEMANTICS_ID_NATURAL = "0.4.0.194121.1.1"
SEMANTICS_ID_LEGAL = "0.4.0.194121.1.2"

# ETSI EN 319 412-1 5.1.3: natural-person semantics identifier in serialNumber,
# three-letter type, ISO 3166 country, a hyphen, the identifier.
NATURAL_PERSON_ID = r"(PAS|IDC|PNO|TAX|TIN)[A-Z]{2}-[A-Za-z0-9./:-]+"
# ETSI EN 319 412-1 5.1.4: legal-person semantics identifier in organizationIdentifier.
LEGAL_PERSON_ID = r"(VAT|NTR|PSD|LEI)[A-Z]{2}-[A-Za-z0-9./:-]+"

_ALL_KEY_TYPES = frozenset(KeyType)


@dataclass(frozen=True)
class Profile:
    """Everything that decides the shape of a certificate of one kind."""

    name: str
    """Profile name, such as ``tls-server``."""
    description: str
    """One line saying what the profile is for."""
    key_usage: frozenset[KeyUsageBit]
    """Key usage bits, always marked critical (RFC 5280 4.2.1.3 SHOULD)."""
    validity: timedelta = DEFAULT_LEAF_VALIDITY
    """Validity when the request names none."""
    max_validity: timedelta = DEFAULT_LEAF_VALIDITY
    """The longest validity a request may ask for."""
    extended_key_usage: tuple[ObjectIdentifier, ...] = ()
    extended_key_usage_critical: bool = False
    is_ca: bool = False
    path_length: int | None = None
    """pathLenConstraint for CA profiles; ``None`` leaves it out."""
    key_types: frozenset[KeyType] = _ALL_KEY_TYPES
    """Key types the subject may have."""
    required_subject: tuple[ObjectIdentifier, ...] = (NameOID.COMMON_NAME,)
    """Subject attributes a request must carry."""
    subject_patterns: Mapping[ObjectIdentifier, str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Regular expressions that whole subject attribute values must match."""
    san_kinds: frozenset[SanKind] = frozenset()
    """SAN kinds a request may carry; others are refused."""
    san_required: bool = False
    certificate_policies: tuple[str, ...] = ()
    """Certificate policy OIDs, dotted."""
    qc_statements: QCStatements | None = None
    cn_in_san: bool = False
    """A commonName must be a copy of one SAN value (CA/Browser Forum BR 7.1.4.3)."""
    ocsp_no_check: bool = False
    """Add id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1), for delegated OCSP responders."""
    revocation_info: bool = True
    """Add CRL distribution points and the AIA OCSP URL from the CA's configuration."""
    purpose: Purpose = Purpose.ANY
    """What the certificate is for: issuance checks that the validator would accept the
    chain for this purpose (key usage, EKU chaining, the web PKI profile for TLS)."""
    cabf_names: bool = False
    """dNSName and iPAddress SANs follow the CA/Browser Forum baseline requirements
    (3.2.2.4, 3.2.2.6, 7.1.2.7.12): LDH host names with valid IDNA labels under a
    public suffix, no wildcard over a public suffix, no internal names, no IP literal
    as a dNSName, no reserved IP address."""
    max_sans: int = DEFAULT_MAX_SANS
    """Most subjectAltName entries a request may ask for."""
    may_outlive_issuer: bool = False
    """Allow notAfter beyond a CA's notAfter on the chain above (with a warning); relying
    parties refuse the certificate once that CA expires (RFC 5280 6.1.3 a 2)."""

    def __post_init__(self) -> None:
        if self.max_sans < 1:
            raise ProfileError(f"profile {self.name}: max_sans must be at least 1")
        if self.is_ca and KeyUsageBit.KEY_CERT_SIGN not in self.key_usage:
            raise ProfileError(f"profile {self.name}: a CA profile needs keyCertSign")
        if not self.is_ca and self.path_length is not None:
            raise ProfileError(f"profile {self.name}: pathLenConstraint is for CA profiles only")
        if (
            KeyUsageBit.KEY_CERT_SIGN in self.key_usage or KeyUsageBit.CRL_SIGN in self.key_usage
        ) and not self.is_ca:
            raise ProfileError(
                f"profile {self.name}: keyCertSign and cRLSign need a CA profile (RFC 5280 4.2.1.9)"
            )
        if self.validity > self.max_validity:
            raise ProfileError(
                f"profile {self.name}: validity {self.validity.days} days exceeds "
                f"max_validity {self.max_validity.days} days"
            )
        if not self.key_usage:
            raise ProfileError(f"profile {self.name}: key_usage must not be empty")

    def key_usage_extension(self) -> x509.KeyUsage:
        """The KeyUsage extension value for this profile."""
        bits = {bit.value: bit in self.key_usage for bit in KeyUsageBit}
        return x509.KeyUsage(**bits, encipher_only=False, decipher_only=False)


def _subject_patterns(patterns: dict[ObjectIdentifier, str]) -> Mapping[ObjectIdentifier, str]:
    return MappingProxyType(patterns)


_KU = KeyUsageBit
# ETSI EN 319 412-2 5.2.4 / 319 412-1 5.1.3: a natural person is named by country,
# common name, given name and surname, and identified by a semantics identifier.
_NATURAL_PERSON_SUBJECT = (
    NameOID.COUNTRY_NAME,
    NameOID.COMMON_NAME,
    NameOID.GIVEN_NAME,
    NameOID.SURNAME,
    NameOID.SERIAL_NUMBER,
)
_NATURAL_PERSON_PATTERNS = _subject_patterns({NameOID.SERIAL_NUMBER: NATURAL_PERSON_ID})
_CA_USAGE = frozenset({_KU.KEY_CERT_SIGN, _KU.CRL_SIGN, _KU.DIGITAL_SIGNATURE})
_EC_KEYS = frozenset({KeyType.EC_P256, KeyType.EC_P384})
_RSA_KEYS = frozenset({KeyType.RSA_2048, KeyType.RSA_3072, KeyType.RSA_4096})

BUILTIN_PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        p.name: p
        for p in (
            Profile(
                name="root-ca",
                description="self-signed root of a hierarchy",
                key_usage=_CA_USAGE,
                validity=DEFAULT_ROOT_VALIDITY,
                max_validity=timedelta(days=25 * 365),
                is_ca=True,
                required_subject=(NameOID.COMMON_NAME, NameOID.COUNTRY_NAME),
                key_types=_EC_KEYS | _RSA_KEYS,
                revocation_info=False,
            ),
            Profile(
                name="sub-ca",
                description="issuing CA under a root or another CA",
                key_usage=_CA_USAGE,
                validity=DEFAULT_CA_VALIDITY,
                max_validity=timedelta(days=15 * 365),
                is_ca=True,
                path_length=0,
                required_subject=(NameOID.COMMON_NAME, NameOID.COUNTRY_NAME),
                key_types=_EC_KEYS | _RSA_KEYS,
                certificate_policies=(ANY_POLICY,),
            ),
            Profile(
                name="tls-server",
                description="TLS server authentication for an e-service host",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                validity=TLS_SERVER_VALIDITY,
                max_validity=TLS_SERVER_MAX_VALIDITY,
                extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
                required_subject=(),
                san_kinds=frozenset({SanKind.DNS, SanKind.IP}),
                san_required=True,
                cn_in_san=True,
                cabf_names=True,
                purpose=Purpose.TLS_SERVER,
                key_types=_EC_KEYS | _RSA_KEYS,
                # CA/Browser Forum domain-validated.
                certificate_policies=("2.23.140.1.2.1",),
            ),
            Profile(
                name="tls-client",
                description="TLS client authentication for a service or device",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
                purpose=Purpose.TLS_CLIENT,
                san_kinds=frozenset({SanKind.DNS, SanKind.EMAIL, SanKind.URI}),
            ),
            Profile(
                name="citizen-auth",
                description="a citizen's authentication certificate (ETSI EN 319 412-2)",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                validity=timedelta(days=3 * 365),
                max_validity=timedelta(days=5 * 365),
                extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
                purpose=Purpose.CITIZEN_AUTH,
                required_subject=_NATURAL_PERSON_SUBJECT,
                subject_patterns=_NATURAL_PERSON_PATTERNS,
                san_kinds=frozenset({SanKind.EMAIL}),
                certificate_policies=(ETSI_POLICY.NCP_PLUS,),
            ),
            Profile(
                name="qualified-signature",
                description="a natural person's qualified electronic signature (eIDAS)",
                key_usage=frozenset({_KU.CONTENT_COMMITMENT}),
                validity=timedelta(days=3 * 365),
                max_validity=timedelta(days=5 * 365),
                purpose=Purpose.DOCUMENT_SIGNING,
                required_subject=_NATURAL_PERSON_SUBJECT,
                subject_patterns=_NATURAL_PERSON_PATTERNS,
                san_kinds=frozenset({SanKind.EMAIL}),
                certificate_policies=(ETSI_POLICY.QCP_N_QSCD,),
                qc_statements=QCStatements(
                    compliance=True,
                    sscd=True,
                    qc_type=QcType.ESIGN,
                    semantics_id=SEMANTICS_ID_NATURAL,
                ),
            ),
            Profile(
                name="org-seal",
                description="an organisation's electronic seal (eIDAS)",
                # ETSI EN 319 412-3 LEG-4.3.1-3/-4: a seal commits to content, so key
                # usage type A, B or F, and "type A should be used" (nonRepudiation only);
                # EN 319 412-2 NAT-4.3.2-1 likewise steers away from the mixed type B.
                key_usage=frozenset({_KU.CONTENT_COMMITMENT}),
                validity=timedelta(days=3 * 365),
                max_validity=timedelta(days=5 * 365),
                purpose=Purpose.DOCUMENT_SIGNING,
                required_subject=(
                    NameOID.COUNTRY_NAME,
                    NameOID.COMMON_NAME,
                    NameOID.ORGANIZATION_NAME,
                    NameOID.ORGANIZATION_IDENTIFIER,
                ),
                subject_patterns=_subject_patterns(
                    {NameOID.ORGANIZATION_IDENTIFIER: LEGAL_PERSON_ID}
                ),
                certificate_policies=(ETSI_POLICY.QCP_L,),
                qc_statements=QCStatements(
                    compliance=True, qc_type=QcType.ESEAL, semantics_id=SEMANTICS_ID_LEGAL
                ),
            ),
            Profile(
                name="code-signing",
                description="signing software releases",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                validity=timedelta(days=3 * 365),
                max_validity=timedelta(days=39 * 30),
                extended_key_usage=(ExtendedKeyUsageOID.CODE_SIGNING,),
                purpose=Purpose.CODE_SIGNING,
                required_subject=(NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME),
                key_types=_EC_KEYS | frozenset({KeyType.RSA_3072, KeyType.RSA_4096}),
            ),
            Profile(
                name="ocsp-signing",
                description="a delegated OCSP responder (RFC 6960 4.2.2.2)",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                validity=timedelta(days=30),
                max_validity=timedelta(days=365),
                extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
                purpose=Purpose.OCSP_SIGNING,
                ocsp_no_check=True,
                revocation_info=False,
            ),
            Profile(
                name="timestamping",
                description="an RFC 3161 time-stamping authority",
                key_usage=frozenset({_KU.DIGITAL_SIGNATURE}),
                validity=timedelta(days=5 * 365),
                max_validity=timedelta(days=11 * 365),
                # RFC 3161 2.3: the one EKU, critical.
                extended_key_usage=(ExtendedKeyUsageOID.TIME_STAMPING,),
                extended_key_usage_critical=True,
                purpose=Purpose.TIMESTAMPING,
                required_subject=(NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME),
            ),
        )
    }
)

_EKU_NAMES: Mapping[str, ObjectIdentifier] = MappingProxyType(
    {
        "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
        "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
        "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
        "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
        "timeStamping": ExtendedKeyUsageOID.TIME_STAMPING,
        "OCSPSigning": ExtendedKeyUsageOID.OCSP_SIGNING,
    }
)

_OID_RE = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


def _oid(text: str, what: str) -> ObjectIdentifier:
    if text in _EKU_NAMES:
        return _EKU_NAMES[text]
    if not _OID_RE.fullmatch(text):
        raise ProfileError(f"{what} {text!r}: not a known name or a dotted OID")
    return ObjectIdentifier(text)


def get_profile(name: str, profiles: Mapping[str, Profile] = BUILTIN_PROFILES) -> Profile:
    """The profile called ``name``; :class:`~trustkit.errors.ProfileError` if unknown."""
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise ProfileError(f"profile {name!r}: unknown; known profiles are {known}") from None


_TOML_KEYS = {
    "base",
    "description",
    "validity_days",
    "max_validity_days",
    "key_usage",
    "extended_key_usage",
    "extended_key_usage_critical",
    "path_length",
    "key_types",
    "required_subject",
    "subject_patterns",
    "san_kinds",
    "san_required",
    "cn_in_san",
    "certificate_policies",
    "ocsp_no_check",
    "revocation_info",
    "pds",
    "purpose",
    "cabf_names",
    "max_sans",
    "may_outlive_issuer",
}

_SUBJECT_KEYWORDS: Mapping[str, ObjectIdentifier] = MappingProxyType(
    {
        "CN": NameOID.COMMON_NAME,
        "C": NameOID.COUNTRY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "L": NameOID.LOCALITY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "serialNumber": NameOID.SERIAL_NUMBER,
        "organizationIdentifier": NameOID.ORGANIZATION_IDENTIFIER,
        "givenName": NameOID.GIVEN_NAME,
        "surname": NameOID.SURNAME,
        "emailAddress": NameOID.EMAIL_ADDRESS,
    }
)


def _attribute_oid(text: str) -> ObjectIdentifier:
    return _SUBJECT_KEYWORDS.get(text) or _oid(text, "subject attribute")


def _profile_from_table(
    name: str, table: Mapping[str, Any], known: Mapping[str, Profile]
) -> Profile:
    unknown = set(table) - _TOML_KEYS
    if unknown:
        raise ProfileError(f"profile {name}: unknown setting(s) {', '.join(sorted(unknown))}")
    base_name = table.get("base", name if name in known else None)
    if base_name is None:
        raise ProfileError(f'profile {name}: a new profile needs base = "<existing profile>"')
    base = get_profile(str(base_name), known)
    changes: dict[str, Any] = {"name": name}
    try:
        if "description" in table:
            changes["description"] = str(table["description"])
        for key, attribute in (
            ("validity_days", "validity"),
            ("max_validity_days", "max_validity"),
        ):
            if key in table:
                changes[attribute] = validity_days(table[key], field=key)
        if "key_usage" in table:
            changes["key_usage"] = frozenset(KeyUsageBit.parse(k) for k in table["key_usage"])
        if "extended_key_usage" in table:
            changes["extended_key_usage"] = tuple(
                _oid(e, "extended key usage") for e in table["extended_key_usage"]
            )
        for flag in (
            "extended_key_usage_critical",
            "san_required",
            "cn_in_san",
            "ocsp_no_check",
            "revocation_info",
            "cabf_names",
            "may_outlive_issuer",
        ):
            if flag in table:
                if not isinstance(table[flag], bool):
                    raise ProfileError(f"profile {name}: {flag} must be true or false")
                changes[flag] = table[flag]
        if "path_length" in table:
            changes["path_length"] = check_path_length(table["path_length"])
        if "max_sans" in table:
            max_sans = table["max_sans"]
            if not isinstance(max_sans, int) or isinstance(max_sans, bool) or max_sans < 1:
                raise ProfileError(f"profile {name}: max_sans must be at least 1 (a whole number)")
            changes["max_sans"] = max_sans
        if "purpose" in table:
            try:
                changes["purpose"] = Purpose(table["purpose"])
            except ValueError:
                purposes = ", ".join(p.value for p in Purpose)
                raise ProfileError(
                    f"profile {name}: purpose {table['purpose']!r} is unknown; "
                    f"use one of {purposes}"
                ) from None
        if "key_types" in table:
            changes["key_types"] = frozenset(KeyType.parse(k) for k in table["key_types"])
        if "required_subject" in table:
            changes["required_subject"] = tuple(
                _attribute_oid(a) for a in table["required_subject"]
            )
        if "subject_patterns" in table:
            patterns = {_attribute_oid(k): str(v) for k, v in table["subject_patterns"].items()}
            for pattern in patterns.values():
                re.compile(pattern)
            changes["subject_patterns"] = MappingProxyType(patterns)
        if "san_kinds" in table:
            changes["san_kinds"] = frozenset(SanKind(k) for k in table["san_kinds"])
        if "pds" in table:
            changes["qc_statements"] = _with_pds(name, base, table["pds"])
        if "certificate_policies" in table:
            changes["certificate_policies"] = tuple(
                str(_oid(p, "certificate policy").dotted_string)
                for p in table["certificate_policies"]
            )
    except ProfileError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError, re.error) as exc:
        raise ProfileError(f"profile {name}: {exc}") from exc
    if "validity" in changes and "max_validity" not in changes:
        changes["max_validity"] = max(base.max_validity, changes["validity"])
    return replace(base, **changes)


def _with_pds(name: str, base: Profile, table: object) -> QCStatements:
    """``base``'s QCStatements with the PKI disclosure statements of a ``pds`` table."""
    if base.qc_statements is None:
        raise ProfileError(
            f"profile {name}: pds needs a profile with QCStatements "
            "(qualified-signature, org-seal or one based on them)"
        )
    if not isinstance(table, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ProfileError(
            f'profile {name}: pds must be a table of language = "https URL", '
            'such as pds = { en = "https://pki.example.gov/pds-en.pdf" }'
        )
    pds = tuple((language, url) for language, url in table.items())
    problem = _pds_problem(pds)
    if problem is not None:
        raise ProfileError(f"profile {name}: pds {problem}")
    return replace(base.qc_statements, pds=pds)


def profiles_from_config(tables: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Profile]:
    """The built-in profiles with the ``[profiles.*]`` tables of a configuration applied.

    A table named like a built-in profile overrides its settings; any other
    name defines a new profile from ``base``.
    """
    result = dict(BUILTIN_PROFILES)
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ProfileError(f"profile {name}: expected a table of settings")
        result[name] = _profile_from_table(name, table, result)
    return MappingProxyType(result)
