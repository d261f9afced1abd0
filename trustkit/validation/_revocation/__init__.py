"""Revocation checking (RFC 5280 6.3, RFC 6960), along three seams.

- :mod:`.gather`: the caller's CRLs and OCSP responses and what fetching finds;
  the only I/O.
- :mod:`.judge_crl`, :mod:`.judge_ocsp`: each CRL or OCSP response, alone, into a
  small frozen :class:`~trustkit.validation.RevocationFinding`.
- :mod:`.decide`: one pure function over the set of findings, with its table of
  rules in the module's theory of operation.

:class:`.checker.RevocationChecker` runs them for each certificate of a path.
"""

from __future__ import annotations

from .checker import RevocationChecker
from .context import MAX_SIGNER_DEPTH, SignerValidator
from .decide import Decision, decide

__all__ = ["MAX_SIGNER_DEPTH", "Decision", "RevocationChecker", "SignerValidator", "decide"]
