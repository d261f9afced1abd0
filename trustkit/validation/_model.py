"""Frozen inputs and outputs of path validation: purposes, policies, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import CertificatePoliciesOID

from ..encoding import format_serial

__all__ = [
    "ANY_POLICY",
    "DEFAULT_MAX_INTERMEDIATES",
    "DEFAULT_MAX_NAME_CONSTRAINT_CHECKS",
    "DEFAULT_MAX_SIGNATURE_CHECKS",
    "DEFAULT_MAX_WORK",
    "DEFAULT_OCSP_TOLERANCE",
    "AlgorithmPolicy",
    "EvidenceSource",
    "FindingStatus",
    "Freshness",
    "Purpose",
    "RevocationEvidence",
    "RevocationFinding",
    "RevocationMode",
    "RevocationStatus",
    "ValidationPolicy",
    "ValidationResult",
    "WebProfile",
]

ANY_POLICY = CertificatePoliciesOID.ANY_POLICY
"""anyPolicy, 2.5.29.32.0 (RFC 5280 4.2.1.4)."""

DEFAULT_MAX_INTERMEDIATES = 10
"""Most intermediate CA certificates between the end entity and the trust anchor."""

DEFAULT_MAX_WORK = 2000
"""Most issuer candidates and signature checks one validation may spend."""

DEFAULT_MAX_SIGNATURE_CHECKS = 100
"""Most certificate signatures one validation may verify while building paths: Go's
crypto/x509 and rustls-webpki stop at 100, cryptography's verifier at 128. An honest
path needs one per certificate; each check of a hostile pool's big RSA key costs
milliseconds."""

DEFAULT_MAX_NAME_CONSTRAINT_CHECKS = 250_000
"""Most name-to-subtree comparisons one validation may make, over every path it tries:
Go allows 250,000 per certificate, cryptography 2^20 per validation. Real chains need a
few thousand (a hundred names under two CAs with a few dozen subtrees each); a quarter
of a million takes this engine about a fifth of a second."""

DEFAULT_OCSP_TOLERANCE = timedelta(minutes=5)
"""Clock skew accepted on an OCSP response's thisUpdate and nextUpdate."""


class Purpose(enum.Enum):
    """What the end-entity certificate is to be used for.

    Each purpose checks key usage and extended key usage as the software of
    that field expects (see :func:`trustkit.validation.validate`).
    """

    TLS_SERVER = "tls-server"
    """A TLS server: serverAuth EKU; with ``hostname``, RFC 9525 matching."""
    TLS_CLIENT = "tls-client"
    """A TLS client: clientAuth EKU."""
    CITIZEN_AUTH = "citizen-auth"
    """A person logging in to an e-service: digitalSignature KU and clientAuth EKU, both present."""
    DOCUMENT_SIGNING = "document-signing"
    """Signing documents: contentCommitment (or digitalSignature) KU; EKU absent,
    emailProtection, documentSigning or anyExtendedKeyUsage."""
    CODE_SIGNING = "code-signing"
    """Signing software: digitalSignature KU and codeSigning EKU."""
    TIMESTAMPING = "timestamping"
    """An RFC 3161 time-stamping authority: exactly one, critical, timeStamping EKU."""
    OCSP_SIGNING = "ocsp-signing"
    """A delegated OCSP responder: OCSPSigning EKU (RFC 6960 4.2.2.2)."""
    ANY = "any"
    """No key-usage or extended-key-usage requirement on the end entity."""


class WebProfile(enum.Enum):
    """How much of the CA/Browser Forum profile a TLS path is held to (see
    docs/security.md, "Where validation departs from the web profile")."""

    BROWSER = "browser"
    """What browsers enforce: the profile's structural rules, and no wildcard over a
    public suffix of the ICANN section (as Chrome); a commonName that is no SAN, a
    leaf without extendedKeyUsage, an RSA modulus that is not a whole number of
    bytes, a non-critical nameConstraints and underscores in host names pass."""
    STRICT = "strict"
    """The Baseline Requirements wherever a relying party can see them: also refuses
    each of the departures that ``BROWSER`` lets pass."""


class RevocationMode(enum.Enum):
    """How the absence of revocation evidence is treated."""

    OFF = "off"
    """No revocation checking at all."""
    SOFT_FAIL = "soft-fail"
    """Use evidence that is available; a certificate with none is accepted."""
    HARD_FAIL = "hard-fail"
    """Every certificate on the path must have usable evidence that it is not revoked."""


class RevocationStatus(enum.Enum):
    """What the evidence says about one certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not-checked"


class EvidenceSource(enum.Enum):
    """Where a revocation answer came from."""

    CRL = "crl"
    OCSP = "ocsp"
    NONE = "none"


class FindingStatus(enum.Enum):
    """What one CRL or OCSP response says about one certificate, before any weighing."""

    GOOD = "good"
    """Not listed (a CRL, or a delta's removeFromCRL), or OCSP ``good``."""
    REVOKED = "revoked"
    """Listed, with a revocation time and reason (certificateHold included)."""
    UNKNOWN = "unknown"
    """An OCSP responder that does not know the certificate (RFC 6960 2.2)."""
    UNUSABLE = "unusable"
    """About this certificate, but not to be relied on: ``note`` says why."""
    CONFLICTING = "conflicting"
    """Signed evidence that says two things about the certificate (a CRL listing it
    twice, an OCSP response with two different answers for it): soft-fail never
    softens it."""


class Freshness(enum.Enum):
    """How a CRL or OCSP response stands in time against the validation time."""

    CURRENT = "current"
    """thisUpdate at or before the validation time, nextUpdate (if any) not before it."""
    LATER = "later"
    """Issued after the validation time: it tells the status at a later moment, which
    covers the validation time (ETSI EN 319 102-1 5.6.2; signatures verified over time)."""
    STALE = "stale"
    """nextUpdate before the validation time: newer information should exist."""
    AFTER_EXPIRY = "after-expiry"
    """Issued after the certificate expired: a CRL may drop an expired certificate's
    entry (RFC 5280 3.3, 5.1.2.6), so its silence proves nothing."""


_FRESHNESS_TEXT = {
    Freshness.CURRENT: "current",
    Freshness.LATER: "issued after the validation time",
    Freshness.STALE: "stale",
    Freshness.AFTER_EXPIRY: "issued after the certificate expired",
}


@dataclass(frozen=True)
class RevocationFinding:
    """One CRL (with the delta applied to it, if any) or one OCSP response, judged
    alone for one certificate: what it says and how far it can be relied on.

    Findings are values: :func:`trustkit.validation._revocation.decide` weighs a set
    of them, and the answer never depends on their order.
    """

    source: EvidenceSource
    """CRL or OCSP."""
    scope: str
    """What the evidence speaks for: a CRL's issuer and issuingDistributionPoint (CRLs
    of one scope supersede each other by cRLNumber), or ``ocsp`` for responses."""
    issuer: str
    """The CRL issuer or the OCSP responder, RFC 4514 (or a key hash)."""
    status: FindingStatus
    """What it says about the certificate."""
    freshness: Freshness | None = None
    """How it stands against the validation time (``None`` when unusable early)."""
    this_update: datetime | None = None
    """thisUpdate of the CRL (of the delta, when one is applied) or the OCSP answer."""
    next_update: datetime | None = None
    """nextUpdate, likewise."""
    produced_at: datetime | None = None
    """producedAt of an OCSP response."""
    crl_number: int | None = None
    """cRLNumber of the complete CRL."""
    delta_crl_number: int | None = None
    """cRLNumber of the delta CRL applied to it, if any."""
    revocation_time: datetime | None = None
    """When listed: the revocation time, or the invalidity date when that is earlier
    (RFC 5280 5.3.2: the key was known or suspected compromised from then)."""
    reason: str | None = None
    """When listed: the reason code's name (RFC 5280 5.3.1), ``None`` for unspecified."""
    reasons: frozenset[str] = frozenset()
    """The revocation reasons this evidence covers (RFC 5280 5.2.5 onlySomeReasons)."""
    note: str = ""
    """Why unusable, or a short remark."""

    @property
    def number(self) -> int:
        """Position among CRLs of its scope: the delta's cRLNumber when one is applied."""
        if self.delta_crl_number is not None:
            return self.delta_crl_number
        return self.crl_number if self.crl_number is not None else -1

    def describe(self) -> str:
        """One line: which evidence, and what it says."""
        if self.source is EvidenceSource.CRL:
            what = f"CRL #{self.crl_number} from {self.issuer}"
            if self.delta_crl_number is not None:
                what += f" with delta #{self.delta_crl_number}"
        else:
            what = f"OCSP response from {self.issuer}"
        if self.this_update is not None:
            what += f", thisUpdate {self.this_update.isoformat()}"
        if self.status is FindingStatus.REVOKED and self.revocation_time is not None:
            said = (
                f"revoked at {self.revocation_time.isoformat()}"
                f" reason {self.reason or 'unspecified'}"
            )
        elif self.status in (FindingStatus.UNUSABLE, FindingStatus.CONFLICTING):
            said = f"{self.status.value}: {self.note}"
        else:
            said = self.status.value
        fresh = f", {_FRESHNESS_TEXT[self.freshness]}" if self.freshness is not None else ""
        return f"{what}{fresh}: {said}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "source": self.source.value,
            "scope": self.scope,
            "issuer": self.issuer,
            "status": self.status.value,
            "freshness": self.freshness.value if self.freshness is not None else None,
            "this_update": when(self.this_update),
            "next_update": when(self.next_update),
            "produced_at": when(self.produced_at),
            "crl_number": self.crl_number,
            "delta_crl_number": self.delta_crl_number,
            "revocation_time": when(self.revocation_time),
            "reason": self.reason,
            "note": self.note,
        }


_DEFAULT_HASHES = frozenset(
    {"sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"}
)
_DEFAULT_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


@dataclass(frozen=True)
class AlgorithmPolicy:
    """Which signature and public-key algorithms are acceptable; frozen data.

    The default refuses MD5 and SHA-1 signatures, RSA keys under 2048 bits,
    DSA, and elliptic curves other than P-256, P-384 and P-521.
    :meth:`legacy` accepts them, for old hierarchies such as NIST PKITS.
    """

    hashes: frozenset[str] = _DEFAULT_HASHES
    """Hash names (cryptography's ``HashAlgorithm.name``) accepted in signatures."""
    min_rsa_bits: int = 2048
    """Smallest RSA modulus accepted."""
    allow_dsa: bool = False
    """Whether DSA keys and signatures are accepted."""
    min_dsa_bits: int = 2048
    """Smallest DSA modulus accepted when DSA is allowed."""
    curves: frozenset[str] = _DEFAULT_CURVES
    """Named elliptic curves accepted (cryptography's curve ``name``)."""
    allow_ed25519: bool = True
    """Whether Ed25519 is accepted."""
    allow_ed448: bool = True
    """Whether Ed448 is accepted."""

    @classmethod
    def legacy(cls) -> AlgorithmPolicy:
        """A policy that also accepts SHA-1, MD5, RSA from 1024 bits, DSA and other curves."""
        return cls(
            hashes=_DEFAULT_HASHES | {"sha1", "md5"},
            min_rsa_bits=1024,
            allow_dsa=True,
            min_dsa_bits=1024,
            curves=_DEFAULT_CURVES
            | {
                "secp224r1",
                "secp256k1",
                "brainpoolP256r1",
                "brainpoolP384r1",
                "brainpoolP512r1",
                "secp192r1",
            },
        )


@dataclass(frozen=True)
class ValidationPolicy:
    """The relying party's rules for one validation (RFC 5280 6.1.1 inputs and more)."""

    initial_policy_set: frozenset[x509.ObjectIdentifier] = frozenset({ANY_POLICY})
    """user-initial-policy-set (RFC 5280 6.1.1 c)."""
    initial_explicit_policy: bool = False
    """initial-explicit-policy (RFC 5280 6.1.1 f)."""
    initial_policy_mapping_inhibit: bool = False
    """initial-policy-mapping-inhibit (RFC 5280 6.1.1 e)."""
    initial_any_policy_inhibit: bool = False
    """initial-any-policy-inhibit (RFC 5280 6.1.1 g)."""
    algorithms: AlgorithmPolicy = field(default_factory=AlgorithmPolicy)
    """Acceptable signature and key algorithms."""
    revocation: RevocationMode = RevocationMode.SOFT_FAIL
    """How missing revocation evidence is treated."""
    check_anchor_validity: bool = True
    """Whether the trust anchor's own validity period is enforced. RFC 5280 6.1.1 d
    leaves it out (an anchor is trusted information, not a certificate on the path),
    but an expired root is refused by OpenSSL, browsers and the x509-limbo suite;
    ``False`` trusts the anchor whatever its dates."""
    max_intermediates: int = DEFAULT_MAX_INTERMEDIATES
    """Most intermediate certificates in a path (end entity and anchor not counted),
    as the max_chain_depth of cryptography's verifier."""
    max_work: int = DEFAULT_MAX_WORK
    """Bound on issuer candidates examined plus signatures checked, against hostile pools."""
    max_signature_checks: int = DEFAULT_MAX_SIGNATURE_CHECKS
    """Bound on certificate signatures verified while building paths."""
    max_name_constraint_checks: int = DEFAULT_MAX_NAME_CONSTRAINT_CHECKS
    """Bound on name-to-subtree comparisons (names times constraints, summed over the
    certificates of every path tried); past it the chain is refused, as cryptography and
    Go refuse it, whatever its names."""
    web_profile: WebProfile = WebProfile.BROWSER
    """The CA/Browser Forum profile applied to paths for TLS purposes."""
    ocsp_tolerance: timedelta = DEFAULT_OCSP_TOLERANCE
    """Clock skew accepted on OCSP thisUpdate and nextUpdate."""
    use_delta_crls: bool = True
    """Whether delta CRLs (RFC 5280 5.2.4) given with the complete CRLs are applied."""

    def __post_init__(self) -> None:
        if not self.initial_policy_set:
            raise ValueError("initial_policy_set: must not be empty (RFC 5280 6.1.1 c)")
        if self.max_intermediates < 0:
            raise ValueError("max_intermediates: must not be negative")
        for name in ("max_work", "max_signature_checks", "max_name_constraint_checks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1")
        if not isinstance(self.web_profile, WebProfile):
            raise TypeError("web_profile: expected a WebProfile")


@dataclass(frozen=True)
class RevocationEvidence:
    """The revocation answer used for one certificate of the path."""

    index: int
    """Position of the certificate in the path, end entity 0."""
    subject: str
    """The certificate's subject, RFC 4514."""
    serial: int
    """The certificate's serial number."""
    status: RevocationStatus
    """What the evidence says."""
    source: EvidenceSource
    """Where the answer came from."""
    detail: str
    """Which CRL or OCSP response, or why there is none."""
    this_update: datetime | None = None
    """thisUpdate of the CRL or OCSP response used."""
    next_update: datetime | None = None
    """nextUpdate of the CRL or OCSP response used."""
    revocation_time: datetime | None = None
    """With status ``REVOKED``: when the certificate was revoked (at or before the
    validation time). With status ``GOOD``: set when the evidence shows the
    certificate revoked *after* the validation time, which leaves a signature made
    before it standing (ETSI EN 319 102-1 5.6.2.4)."""
    reason: str | None = None
    """The reason code's name with ``revocation_time``; ``None`` for unspecified."""
    decided_by: tuple[RevocationFinding, ...] = ()
    """The findings that gave the answer."""
    findings: tuple[RevocationFinding, ...] = ()
    """Every finding weighed, usable or not."""

    @property
    def revoked_after_validation_time(self) -> bool:
        """Good at the validation time, revoked (or put on hold) later."""
        return self.status is RevocationStatus.GOOD and self.revocation_time is not None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "index": self.index,
            "subject": self.subject,
            "serial": format_serial(self.serial),
            "status": self.status.value,
            "source": self.source.value,
            "detail": self.detail,
            "revocation_time": (
                self.revocation_time.isoformat() if self.revocation_time is not None else None
            ),
            "reason": self.reason,
            "revoked_after_validation_time": self.revoked_after_validation_time,
            "decided_by": [f.to_dict() for f in self.decided_by],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class ValidationResult:
    """A path that passed validation, and what was learned on the way."""

    path: tuple[x509.Certificate, ...]
    """The chain, end entity first, trust anchor last."""
    authorities_constrained_policy_set: frozenset[x509.ObjectIdentifier]
    """Policies valid for the path (RFC 5280 6.1.6); ``{anyPolicy}`` when any policy is."""
    user_constrained_policy_set: frozenset[x509.ObjectIdentifier]
    """The above intersected with the initial policy set (RFC 5280 6.1.6 g)."""
    revocation: tuple[RevocationEvidence, ...]
    """One entry per certificate below the anchor, end entity first."""

    @property
    def end_entity(self) -> x509.Certificate:
        """The validated certificate."""
        return self.path[0]

    @property
    def trust_anchor(self) -> x509.Certificate:
        """The anchor the path ends in."""
        return self.path[-1]
