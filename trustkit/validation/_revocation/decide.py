"""The revocation decision: one pure function over a set of findings.

Theory of operation
-------------------

Every CRL (with the newest delta on it applied) and every OCSP response that
speaks about one certificate has been judged alone into a
:class:`~trustkit.validation.RevocationFinding`: what it says (good, listed
with a time and reason, responder unknown, unusable), its scope, its
cRLNumber or thisUpdate, and how it stands in time against the validation
time ``at`` (current, issued later, stale, issued after the certificate
expired). :func:`decide` weighs the whole set. It reads every finding before
it answers, so no finding can hide another, and it looks at the findings in
one canonical order, so the order in which the caller or a fetch supplied
them cannot change the answer.

The rules, in the order they are applied (first that fires decides):

====  ==========================================================  ==========
step  condition                                                   answer
====  ==========================================================  ==========
1     a usable finding lists the certificate for a permanent      REVOKED
      reason (anything but certificateHold) at or before ``at``,
      whatever its freshness: revocation is final (RFC 5280 3.3)
2     a usable finding lists it on certificateHold at or before   REVOKED
      ``at``, and no release issued at or before ``at`` follows:  (hold)
      a CRL of the same scope with a higher cRLNumber not listing
      it (or a delta's removeFromCRL), or an OCSP ``good`` whose
      thisUpdate is after the hold's evidence (RFC 5280 5.3.1)
3     a finding contradicts itself about the certificate (a CRL   UNKNOWN
      listing it twice, an OCSP response with two answers for     (contra-
      it: RFC 5280 5.1.2.6, RFC 6960 4.2.1)                       dictory)
4     the findings that say "not revoked at ``at``" (not listed,  GOOD
      or listed only for a time after ``at``) and are current or
      issued later (not stale, not issued after expiry) cover
      every revocation reason (RFC 5280 6.3.3 reasons_mask;
      an OCSP answer covers all)
5     otherwise                                                   UNKNOWN
====  ==========================================================  ==========

A listing whose time is after ``at`` does not touch the status at ``at``: a
signature made before the revocation stands (ETSI EN 319 102-1 5.6.2.4), and
the answer reports the later revocation. UNKNOWN carries ``freshness_only``
when step 4 would have passed had the stale or after-expiry findings been
current: the evidence is there, only out of date. Soft-fail accepts UNKNOWN
from step 5 (no evidence, or none usable); it never softens steps 1 to 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .._model import (
    EvidenceSource,
    FindingStatus,
    Freshness,
    RevocationFinding,
    RevocationStatus,
)

__all__ = ["ALL_REASON_NAMES", "HOLD", "Decision", "canonical", "decide"]

HOLD = "certificateHold"
"""The one reason that is not final (RFC 5280 5.3.1)."""

ALL_REASON_NAMES = frozenset(
    {
        "keyCompromise",
        "cACompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "certificateHold",
        "privilegeWithdrawn",
        "aACompromise",
    }
)
"""Every reason a CRL can cover (RFC 5280 5.2.5 onlySomeReasons, ReasonFlags)."""

_ADMISSIBLE_GOOD = (Freshness.CURRENT, Freshness.LATER)
_OUT_OF_DATE = (Freshness.STALE, Freshness.AFTER_EXPIRY)


@dataclass(frozen=True)
class Decision:
    """What the set of findings says about one certificate at one time."""

    status: RevocationStatus
    """GOOD, REVOKED or UNKNOWN."""
    decided_by: tuple[RevocationFinding, ...]
    """The findings that gave the answer, most telling first."""
    revocation_time: datetime | None = None
    """REVOKED: when. GOOD: when it was revoked after ``at``, if it was."""
    reason: str | None = None
    """The reason with ``revocation_time``."""
    freshness_only: bool = False
    """UNKNOWN only because the evidence that would vouch for it is out of date."""
    contradictory: bool = False
    """UNKNOWN because signed evidence contradicts itself: refused in every mode."""
    why: str = ""
    """One clause on the answer."""


def _key(f: RevocationFinding) -> tuple[object, ...]:
    """A total order on findings by value, so that ties never fall to input order."""

    def t(value: datetime | None) -> float:
        return value.timestamp() if value is not None else float("-inf")

    return (
        f.source.value,
        f.scope,
        f.number,
        t(f.this_update),
        t(f.produced_at),
        f.status.value,
        t(f.revocation_time),
        f.reason or "",
        f.freshness.value if f.freshness else "",
        t(f.next_update),
        f.crl_number if f.crl_number is not None else -1,
        sorted(f.reasons),
        f.issuer,
        f.note,
    )


def canonical(findings: Iterable[RevocationFinding]) -> tuple[RevocationFinding, ...]:
    """The findings without duplicates, in the canonical order."""
    given = tuple(findings)
    if len(given) < 2:  # the common case: one CRL or one response, nothing to order
        return given
    return tuple(sorted(set(given), key=_key))


def _listed_by(f: RevocationFinding, at: datetime) -> bool:
    return (
        f.status is FindingStatus.REVOKED
        and f.revocation_time is not None
        and f.revocation_time <= at
    )


def _good_at(f: RevocationFinding, at: datetime) -> bool:
    """Says the certificate was not revoked at ``at``: not listed, or listed for later."""
    if f.status is FindingStatus.GOOD:
        return True
    return f.status is FindingStatus.REVOKED and not _listed_by(f, at)


def _releases(release: RevocationFinding, hold: RevocationFinding) -> bool:
    """Whether ``release`` is newer evidence, issued by ``at``, that lifts ``hold``."""
    if release.status is not FindingStatus.GOOD or release.freshness not in (
        Freshness.CURRENT,
        Freshness.STALE,
    ):
        # Issued after ``at``: the certificate was still on hold at ``at``.
        return False
    if release.source is EvidenceSource.CRL:
        # Among CRLs only a later one of the same scope supersedes (RFC 5280 5.2.3):
        # another scope's silence says nothing about this one's entries.
        return (
            hold.source is EvidenceSource.CRL
            and release.scope == hold.scope
            and release.number > hold.number
        )
    # An OCSP answer covers the certificate whole: it releases a hold that an
    # older answer or CRL stated (RFC 6960 2.2 thisUpdate: status known correct then).
    return (
        release.this_update is not None
        and hold.this_update is not None
        and release.this_update > hold.this_update
    )


def _by_time(f: RevocationFinding) -> tuple[object, ...]:
    # The earliest first; at one time, an OCSP answer (about exactly this certificate).
    assert f.revocation_time is not None
    return (f.revocation_time, f.source is not EvidenceSource.OCSP, *_key(f))


def _coverage(findings: Iterable[RevocationFinding]) -> frozenset[str]:
    covered: set[str] = set()
    for f in findings:
        covered |= ALL_REASON_NAMES if f.source is EvidenceSource.OCSP else f.reasons
    return frozenset(covered)


def decide(findings: Iterable[RevocationFinding], *, at: datetime) -> Decision:
    """Weigh every finding about one certificate for the validation time ``at``.

    Pure: the same set of findings and time always give the same decision,
    whatever the order they come in. See the module's theory of operation.
    """
    ordered = canonical(findings)
    usable = [f for f in ordered if f.status in (FindingStatus.GOOD, FindingStatus.REVOKED)]

    # 1. A final revocation at or before ``at`` wins over any amount of "good".
    final = sorted(
        (f for f in usable if _listed_by(f, at) and f.reason != HOLD),
        key=_by_time,
    )
    if final:
        first = final[0]
        return Decision(
            RevocationStatus.REVOKED,
            tuple(final),
            first.revocation_time,
            first.reason,
            why=f"revoked by {first.describe()}",
        )

    # 2. A hold stands until newer evidence of its scope, issued by ``at``, lifts it.
    holds = sorted(
        (
            f
            for f in usable
            if _listed_by(f, at) and f.reason == HOLD and not any(_releases(g, f) for g in usable)
        ),
        key=_by_time,
    )
    if holds:
        first = holds[0]
        return Decision(
            RevocationStatus.REVOKED,
            tuple(holds),
            first.revocation_time,
            HOLD,
            why=f"on hold by {first.describe()}, not released by the validation time",
        )

    # 3. Signed evidence that contradicts itself about the certificate: no "good"
    # outweighs it, and soft-fail does not soften it.
    conflicting = [f for f in ordered if f.status is FindingStatus.CONFLICTING]
    if conflicting:
        return Decision(
            RevocationStatus.UNKNOWN,
            tuple(conflicting),
            contradictory=True,
            why="contradictory evidence: " + "; ".join(f.describe() for f in conflicting),
        )

    # 4. "Good" counts when it is current (or issued later) and covers every reason.
    later = sorted(
        (f for f in usable if f.status is FindingStatus.REVOKED and not _listed_by(f, at)),
        key=_by_time,
    )
    later_time = later[0].revocation_time if later else None
    later_reason = later[0].reason if later else None
    good = [f for f in usable if _good_at(f, at) and f.freshness in _ADMISSIBLE_GOOD]
    if _coverage(good) >= ALL_REASON_NAMES:
        # OCSP first (one answer about exactly this certificate), then the newest.
        if len(good) > 1:
            good.sort(
                key=lambda f: (
                    f.source is not EvidenceSource.OCSP,
                    -f.this_update.timestamp() if f.this_update is not None else 0.0,
                    *_key(f),
                )
            )
        why = f"good by {good[0].describe()}"
        if later_time is not None:
            why += f"; revoked after the validation time, at {later_time.isoformat()}"
        return Decision(RevocationStatus.GOOD, tuple(good), later_time, later_reason, why=why)

    # 5. Unknown: say whether age alone kept the evidence from counting.
    dated = [f for f in usable if _good_at(f, at) and f.freshness in _OUT_OF_DATE]
    freshness_only = bool(dated) and _coverage([*good, *dated]) >= ALL_REASON_NAMES
    if freshness_only:
        why = "; ".join(dict.fromkeys(_out_of_date(f) for f in dated))
    elif good:
        why = "the usable CRLs do not cover every revocation reason (RFC 5280 6.3.3 k)"
    else:
        notes = [f.describe() for f in ordered if f.status is not FindingStatus.GOOD]
        why = "; ".join(dict.fromkeys(notes)) or "no CRL or OCSP response covers it"
    return Decision(
        RevocationStatus.UNKNOWN,
        tuple(dated),
        later_time,
        later_reason,
        freshness_only=freshness_only,
        why=why,
    )


def _out_of_date(f: RevocationFinding) -> str:
    what = (
        f"CRL from {f.issuer}"
        if f.source is EvidenceSource.CRL
        else f"OCSP response from {f.issuer}"
    )
    if f.freshness is Freshness.AFTER_EXPIRY:
        return f"{what} was issued after the certificate expired and may omit it (RFC 5280 3.3)"
    when = f.next_update.isoformat() if f.next_update is not None else "?"
    return f"{what} is stale: nextUpdate {when} has passed"
