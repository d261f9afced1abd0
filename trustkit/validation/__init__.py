"""RFC 5280 section 6 certification path validation, with CRL and OCSP revocation.

One entry point, :func:`validate`::

    result = validate(cert, trust_anchors=[root], intermediates=pool, at=when,
                      purpose=Purpose.TLS_SERVER, hostname="www.example.gov")
    result.path                          # end entity first, anchor last
    result.user_constrained_policy_set   # RFC 5280 6.1.6
    result.revocation                    # the evidence used, per certificate

Failures raise the :class:`~trustkit.errors.ValidationError` subclasses,
each with ``path`` and ``index`` of the certificate at fault.
"""

from __future__ import annotations

from ..matching import hostname_matches, names_equal
from ._fetch import DEFAULT_FETCH_LIMIT, DEFAULT_FETCH_TIMEOUT, HttpFetcher
from ._model import (
    ANY_POLICY,
    DEFAULT_MAX_INTERMEDIATES,
    DEFAULT_MAX_NAME_CONSTRAINT_CHECKS,
    DEFAULT_MAX_SIGNATURE_CHECKS,
    DEFAULT_MAX_WORK,
    DEFAULT_OCSP_TOLERANCE,
    AlgorithmPolicy,
    EvidenceSource,
    FindingStatus,
    Freshness,
    Purpose,
    RevocationEvidence,
    RevocationFinding,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
    ValidationResult,
    WebProfile,
)
from ._validate import validate

__all__ = [
    "ANY_POLICY",
    "DEFAULT_FETCH_LIMIT",
    "DEFAULT_FETCH_TIMEOUT",
    "DEFAULT_MAX_INTERMEDIATES",
    "DEFAULT_MAX_NAME_CONSTRAINT_CHECKS",
    "DEFAULT_MAX_SIGNATURE_CHECKS",
    "DEFAULT_MAX_WORK",
    "DEFAULT_OCSP_TOLERANCE",
    "AlgorithmPolicy",
    "EvidenceSource",
    "FindingStatus",
    "Freshness",
    "HttpFetcher",
    "Purpose",
    "RevocationEvidence",
    "RevocationFinding",
    "RevocationMode",
    "RevocationStatus",
    "ValidationPolicy",
    "ValidationResult",
    "WebProfile",
    "hostname_matches",
    "names_equal",
    "validate",
]
