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

import importlib
from typing import TYPE_CHECKING, Any

from ..matching import hostname_matches, names_equal
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

if TYPE_CHECKING:
    from ._fetch import DEFAULT_FETCH_LIMIT, DEFAULT_FETCH_TIMEOUT, HttpFetcher
    from ._validate import validate

# Path building, revocation and fetching load on first use: issuance imports the
# per-path rules of this package (layer 2) without them.
_LAZY = {
    "validate": "._validate",
    "HttpFetcher": "._fetch",
    "DEFAULT_FETCH_LIMIT": "._fetch",
    "DEFAULT_FETCH_TIMEOUT": "._fetch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


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
