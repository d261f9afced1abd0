"""QCStatements (RFC 3739, ETSI EN 319 412-5), which cryptography leaves opaque."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import core

from ..errors import DecodeError

# --- QCStatements (RFC 3739, ETSI EN 319 412-5) ---

QC_COMPLIANCE = "0.4.0.1862.1.1"
QC_SSCD = "0.4.0.1862.1.4"
QC_PDS = "0.4.0.1862.1.5"
QC_TYPE = "0.4.0.1862.1.6"
QC_SYNTAX_V2 = "1.3.6.1.5.5.7.11.2"
"""id-qcs-pkixQCSyntax-v2 (RFC 3739 3.2.6.1), which carries ETSI semantics identifiers."""


class _PdsLocation(core.Sequence):
    _fields = [("url", core.IA5String), ("language", core.PrintableString)]


class _PdsLocations(core.SequenceOf):
    _child_spec = _PdsLocation


class _QcTypes(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


class _SemanticsInformation(core.Sequence):
    _fields = [("semantics_identifier", core.ObjectIdentifier, {"optional": True})]


class _QCStatement(core.Sequence):
    _fields = [
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class _QCStatements(core.SequenceOf):
    _child_spec = _QCStatement


@dataclass(frozen=True)
class QcStatementInfo:
    """One decoded QCStatement: its OID and what trustkit understood of its info."""

    statement_id: str
    values: tuple[str, ...] = ()
    """QcType OIDs, PDS ``url (lang)`` entries, or the semantics identifier."""


def encode_qc_statements(
    *,
    compliance: bool,
    sscd: bool,
    qc_type: str | None,
    pds: Sequence[tuple[str, str]] = (),
    semantics_id: str | None = None,
) -> bytes:
    """DER of a QCStatements extension value (ETSI EN 319 412-5 4.2).

    Statements are in the order ETSI lists them; ``pds`` holds (url, language)
    pairs and ``semantics_id`` the OID put in an id-qcs-pkixQCSyntax-v2 statement.
    """
    statements = []
    if semantics_id is not None:
        info = _SemanticsInformation({"semantics_identifier": semantics_id})
        statements.append({"statement_id": QC_SYNTAX_V2, "statement_info": info})
    if compliance:
        statements.append({"statement_id": QC_COMPLIANCE})
    if sscd:
        statements.append({"statement_id": QC_SSCD})
    if pds:
        locations = _PdsLocations([{"url": url, "language": lang} for url, lang in pds])
        statements.append({"statement_id": QC_PDS, "statement_info": locations})
    if qc_type is not None:
        statements.append({"statement_id": QC_TYPE, "statement_info": _QcTypes([qc_type])})
    return bytes(_QCStatements(statements).dump())


def decode_qc_statements(der: bytes) -> list[QcStatementInfo]:
    """The statements of a QCStatements extension value; unknown ones keep their OID only."""
    try:
        parsed = _QCStatements.load(der, strict=True)
        result = []
        for statement in parsed:
            oid = statement["statement_id"].dotted
            info = statement["statement_info"]
            values: tuple[str, ...] = ()
            if info.native is not None:
                raw = info.dump()
                if oid == QC_TYPE:
                    values = tuple(t.dotted for t in _QcTypes.load(raw))
                elif oid == QC_PDS:
                    values = tuple(
                        f"{loc['url'].native} ({loc['language'].native})"
                        for loc in _PdsLocations.load(raw)
                    )
                elif oid == QC_SYNTAX_V2:
                    semantics = _SemanticsInformation.load(raw)["semantics_identifier"]
                    values = (semantics.dotted,) if semantics.native is not None else ()
            result.append(QcStatementInfo(oid, values))
        return result
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"QCStatements: malformed ({exc})") from exc
