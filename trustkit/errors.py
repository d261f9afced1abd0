"""One error tree for the whole library.

Every error that trustkit raises on purpose derives from :class:`TrustkitError`.
A subclass per phase says where things went wrong; fields beside the sentence
say what, so a program never has to parse a message::

    TrustkitError
    ├── InputError                 bad input from outside (files, strings, options)
    │   ├── DecodeError            not PEM or DER, or not the structure expected
    │   ├── InputTooLargeError     more bytes than the input limit; ``limit`` names it
    │   ├── NameSyntaxError        an RFC 4514 name or a SAN that cannot be parsed
    │   ├── KeyFileError           a key that cannot be loaded, generated or written
    │   │   └── PassphraseError    a wrong or missing passphrase
    │   └── CSRError               a CSR that cannot be used (bad proof of possession)
    ├── ConfigError                a CA directory or trustkit.toml that is wrong
    ├── ProfileError               an unknown or inconsistent certificate profile
    ├── PolicyViolation            issuance refused; ``violations`` lists every reason
    │   └── BatchPolicyViolation   a batch refused; ``failures`` by request index
    ├── OutputError                issued and recorded, but not written out; ``serials``
    ├── StoreError                 the certificate store failed
    │   ├── DuplicateSerialError   a serial already used by the same issuer
    │   └── NotFoundError          no record for a serial
    ├── RevocationError            revoking or answering about revocation failed
    │   └── AlreadyRevokedError    the certificate was revoked before
    ├── ValidationError            a certificate path is not acceptable
    │   ├── PathBuildingError      no path from the certificate to a trust anchor
    │   ├── ValidationLimitError   a bound on validation work ran out; ``limit`` names it
    │   ├── PathValidationError    RFC 5280 section 6 rejected the path
    │   ├── InvalidPurposeError    key usage / extended key usage / host name mismatch
    │   ├── DisallowedAlgorithmError an algorithm the algorithm policy refuses
    │   ├── RevokedError           a certificate on the path is revoked
    │   └── RevocationUnknownError hard-fail mode and no usable revocation evidence
    │       └── StaleRevocationError  evidence there, but only out of date
    ├── SignatureError             a CMS signature cannot be made or does not verify
    │   └── InvalidSignatureError  checked, and a signer failed; ``reports`` has them all
    ├── TransparencyError          a transparency log that cannot be trusted
    │   ├── LogFormatError         (also an InputError) a note, checkpoint or tile breaks C2SP
    │   └── ProofError             a proof or a log signature does not verify
    ├── TimestampError             an RFC 3161 request or reply is not acceptable
    └── HSMError                   a PKCS#11 token, object or PIN problem

Messages name the field and the rule, so the CLI can print ``str(error)`` as
its one-line reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "AlreadyRevokedError",
    "BatchPolicyViolation",
    "CSRError",
    "ConfigError",
    "DecodeError",
    "DisallowedAlgorithmError",
    "DuplicateSerialError",
    "HSMError",
    "InputError",
    "InputTooLargeError",
    "InvalidPurposeError",
    "InvalidSignatureError",
    "KeyFileError",
    "LogFormatError",
    "NameSyntaxError",
    "NotFoundError",
    "OutputError",
    "PassphraseError",
    "PathBuildingError",
    "PathValidationError",
    "PolicyViolation",
    "ProfileError",
    "ProofError",
    "RevocationError",
    "RevocationUnknownError",
    "RevokedError",
    "SignatureError",
    "StaleRevocationError",
    "StoreError",
    "TimestampError",
    "TransparencyError",
    "TrustkitError",
    "ValidationError",
    "ValidationLimitError",
    "Violation",
]


class TrustkitError(Exception):
    """The root of every error trustkit raises on purpose."""


def _hex(serial: int) -> str:
    # As OpenSSL prints serials (and trustkit.encoding.format_serial): even-length hex.
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


class InputError(TrustkitError, ValueError):
    """Input from outside the library is unusable."""


class DecodeError(InputError):
    """Bytes that are not PEM or DER of the structure expected."""


class InputTooLargeError(InputError):
    """An input larger than the limit set on what is read (a file, a request body).

    ``limit`` is that limit in bytes; ``size`` what was seen, or ``None`` when
    reading stopped at the limit without learning the whole size.
    """

    def __init__(self, message: str, *, limit: int, size: int | None = None) -> None:
        self.limit = limit
        self.size = size
        super().__init__(message)


class NameSyntaxError(InputError):
    """A distinguished name or subject alternative name that cannot be parsed."""


class KeyFileError(InputError):
    """A private key that cannot be loaded, generated or written."""


class PassphraseError(KeyFileError):
    """A private key's passphrase is wrong or missing."""


class CSRError(InputError):
    """A certificate signing request that cannot be used."""


class ConfigError(TrustkitError):
    """A CA directory or its ``trustkit.toml`` is missing or inconsistent."""


class ProfileError(TrustkitError):
    """An unknown profile name, or a profile definition that contradicts itself."""


@dataclass(frozen=True)
class Violation:
    """One reason an issuance request was refused."""

    check: str
    """Short name of the check that failed, such as ``key-size``."""
    field: str
    """The part of the request at fault, such as ``subject.countryName``."""
    message: str
    """What rule was broken, in one sentence."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PolicyViolation(TrustkitError):
    """An issuance request broke one or more rules; ``violations`` has them all."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(str(v) for v in self.violations) or "policy violation")


class BatchPolicyViolation(PolicyViolation):
    """Requests of a batch broke rules, so nothing of the batch was issued.

    ``failures`` maps the index of each failing request to its violations;
    ``violations`` has them all, each field prefixed with ``requests[i].``.
    """

    def __init__(self, failures: Mapping[int, Sequence[Violation]]) -> None:
        self.failures = {index: tuple(failures[index]) for index in sorted(failures)}
        super().__init__(
            [
                Violation(v.check, f"requests[{index}].{v.field}", v.message)
                for index, found in self.failures.items()
                for v in found
            ]
        )


class StoreError(TrustkitError):
    """The certificate store could not do what was asked."""


class DuplicateSerialError(StoreError):
    """A serial number that the issuer has used already."""

    def __init__(self, serial: int) -> None:
        self.serial = serial
        super().__init__(f"serial {_hex(serial)} is already used by this issuer")


class NotFoundError(StoreError):
    """No certificate with that serial number in the store."""

    def __init__(self, serial: int) -> None:
        self.serial = serial
        super().__init__(f"serial {_hex(serial)}: no such certificate issued by this CA")


class RevocationError(TrustkitError):
    """Revoking a certificate, or answering about revocation, failed."""


class AlreadyRevokedError(RevocationError):
    """The certificate was revoked before; nothing was changed."""

    def __init__(self, serial: int, revocation_time: datetime) -> None:
        self.serial = serial
        self.revocation_time = revocation_time
        super().__init__(f"serial {_hex(serial)}: already revoked at {revocation_time.isoformat()}")


class ValidationError(TrustkitError):
    """A certificate path is not acceptable.

    ``path`` is the chain being checked, end entity first, where one was
    built; ``index`` is the position in it of the certificate at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Sequence[object] = (),
        index: int | None = None,
        failures: Sequence[str] = (),
    ) -> None:
        self.path = tuple(path)
        self.index = index
        self.failures = tuple(failures)
        super().__init__(message)


class PathBuildingError(ValidationError):
    """No path from the certificate to any trust anchor could be built."""


class ValidationLimitError(ValidationError):
    """Validation stopped at a bound on its work (against hostile certificates).

    ``limit`` names the :class:`~trustkit.validation.ValidationPolicy` field that
    was reached, ``value`` is its value.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        value: int,
        path: Sequence[object] = (),
        index: int | None = None,
    ) -> None:
        self.limit = limit
        self.value = value
        super().__init__(message, path=path, index=index)


class PathValidationError(ValidationError):
    """RFC 5280 section 6 path validation rejected the path."""


class InvalidPurposeError(ValidationError):
    """The certificate does not fit the purpose asked for."""


class DisallowedAlgorithmError(ValidationError):
    """A signature or key algorithm that the algorithm policy refuses."""


class RevokedError(ValidationError):
    """A certificate on the path is revoked (or on hold) at the validation time.

    ``revocation_time`` and ``reason`` (the RFC 5280 5.3.1 name, ``None`` for
    unspecified) come from the deciding evidence; ``source`` is ``"crl"`` or
    ``"ocsp"``; ``decided_by`` the findings that listed it and ``findings``
    every piece of evidence weighed for the certificate
    (:class:`trustkit.validation.RevocationFinding`).
    """

    def __init__(
        self,
        message: str,
        *,
        serial: int,
        revocation_time: datetime,
        reason: str | None = None,
        path: Sequence[object] = (),
        index: int | None = None,
        source: str | None = None,
        decided_by: Sequence[object] = (),
        findings: Sequence[object] = (),
    ) -> None:
        self.serial = serial
        self.revocation_time = revocation_time
        self.reason = reason
        self.source = source
        self.decided_by = tuple(decided_by)
        self.findings = tuple(findings)
        super().__init__(message, path=path, index=index)


class RevocationUnknownError(ValidationError):
    """Hard-fail revocation checking found no usable CRL or OCSP response.

    ``findings`` holds every piece of evidence weighed for the certificate
    (:class:`trustkit.validation.RevocationFinding`), each with why it could
    not be used.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Sequence[object] = (),
        index: int | None = None,
        findings: Sequence[object] = (),
    ) -> None:
        self.findings = tuple(findings)
        super().__init__(message, path=path, index=index)


class StaleRevocationError(RevocationUnknownError):
    """Hard-fail: the evidence would have sufficed but for its age.

    Every CRL or OCSP response that would have vouched for the certificate is
    out of date for the validation time (nextUpdate passed, or issued after the
    certificate expired): fetching current evidence is the remedy.
    """


class TransparencyError(TrustkitError):
    """A transparency log, its checkpoint or one of its proofs cannot be trusted."""


class LogFormatError(TransparencyError, InputError):
    """A signed note, checkpoint, tile or entry bundle that breaks its format (C2SP)."""


class ProofError(TransparencyError):
    """An inclusion or consistency proof, or a note signature, that does not verify.

    Either the log misbehaved (it rewrote or forked its history) or what was
    fetched is not what the log published.
    """


class SignatureError(TrustkitError):
    """A CMS signature that cannot be made, or that does not verify."""


class InvalidSignatureError(SignatureError):
    """A CMS signature was checked and at least one signer failed.

    ``failures`` names each failed check; ``reports`` holds every signer's
    :class:`~trustkit.cms.verify.SignerReport`, passed or not.
    """

    def __init__(
        self, message: str, *, failures: Sequence[str] = (), reports: Sequence[object] = ()
    ) -> None:
        self.failures = tuple(failures)
        self.reports = tuple(reports)
        super().__init__(message)


class OutputError(TrustkitError):
    """Certificates were issued and recorded, but writing them out failed.

    ``serials`` are the certificates committed to the store: they exist and
    can be fetched from it, so issuing again would make second certificates.
    """

    def __init__(self, message: str, *, serials: Sequence[int] = ()) -> None:
        self.serials = tuple(serials)
        super().__init__(message)


class TimestampError(TrustkitError):
    """An RFC 3161 timestamp request or reply that is not acceptable."""


class HSMError(TrustkitError):
    """A PKCS#11 module, token, object or PIN problem."""
