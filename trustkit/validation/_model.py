"""Frozen inputs and outputs of path validation: purposes, policies, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import CertificatePoliciesOID

__all__ = [
    "ANY_POLICY",
    "DEFAULT_MAX_INTERMEDIATES",
    "DEFAULT_MAX_NAME_CONSTRAINT_CHECKS",
    "DEFAULT_MAX_SIGNATURE_CHECKS",
    "DEFAULT_MAX_WORK",
    "DEFAULT_OCSP_TOLERANCE",
    "AlgorithmPolicy",
    "EvidenceSource",
    "Purpose",
    "RevocationEvidence",
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
