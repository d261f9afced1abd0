"""The revocation decision as a table of cases, and its twin: no order of the same
findings changes an answer (the rules live in trustkit/validation/_revocation/decide.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from trustkit.validation import (
    EvidenceSource,
    FindingStatus,
    Freshness,
    RevocationFinding,
    RevocationStatus,
)
from trustkit.validation._revocation import decide
from trustkit.validation._revocation.decide import ALL_REASON_NAMES

AT = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
SCOPE = "crl CN=CA"

GOOD, REVOKED = RevocationStatus.GOOD, RevocationStatus.REVOKED
UNKNOWN = RevocationStatus.UNKNOWN


def crl(
    number: int,
    *,
    listed: datetime | None = None,
    reason: str | None = "keyCompromise",
    this_update: datetime | None = None,
    freshness: Freshness = Freshness.CURRENT,
    scope: str = SCOPE,
    reasons: frozenset[str] = ALL_REASON_NAMES,
    status: FindingStatus | None = None,
) -> RevocationFinding:
    return RevocationFinding(
        source=EvidenceSource.CRL,
        scope=scope,
        issuer="CN=CA",
        status=status or (FindingStatus.REVOKED if listed else FindingStatus.GOOD),
        freshness=freshness,
        this_update=this_update or AT - 10 * DAY + number * DAY,
        next_update=(this_update or AT - 10 * DAY + number * DAY) + 30 * DAY,
        crl_number=number,
        revocation_time=listed,
        reason=reason if listed else None,
        reasons=reasons,
    )


def ocsp(
    this_update: datetime,
    *,
    listed: datetime | None = None,
    reason: str | None = "keyCompromise",
    freshness: Freshness = Freshness.CURRENT,
    status: FindingStatus | None = None,
) -> RevocationFinding:
    return RevocationFinding(
        source=EvidenceSource.OCSP,
        scope="ocsp",
        issuer="CN=CA",
        status=status or (FindingStatus.REVOKED if listed else FindingStatus.GOOD),
        freshness=freshness,
        this_update=this_update,
        next_update=this_update + DAY,
        produced_at=this_update,
        revocation_time=listed,
        reason=reason if listed else None,
        reasons=ALL_REASON_NAMES,
    )


HOLD = "certificateHold"
BEFORE, AFTER = AT - 5 * DAY, AT + 5 * DAY
PART_A = frozenset({"keyCompromise", "cACompromise"})


@dataclass(frozen=True)
class Case:
    name: str
    findings: tuple[RevocationFinding, ...]
    status: RevocationStatus
    reason: str | None = None
    revocation_time: datetime | None = None
    freshness_only: bool = False
    contradictory: bool = False


CONFLICT = FindingStatus.CONFLICTING

CASES = [
    Case("nothing", (), UNKNOWN),
    Case("one current good CRL", (crl(1),), GOOD),
    Case("revoked before at", (crl(1, listed=BEFORE),), REVOKED, "keyCompromise", BEFORE),
    Case("revoked exactly at", (crl(1, listed=AT),), REVOKED, "keyCompromise", AT),
    Case(
        "revoked after at: good, with the later revocation",
        (crl(1, listed=AFTER, freshness=Freshness.LATER, this_update=AFTER),),
        GOOD,
        "keyCompromise",
        AFTER,
    ),
    Case(
        "old good CRL and newer CRL listing: the listing wins",
        (crl(1), crl(2, listed=BEFORE)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "older CRL listing and newer CRL silent: final revocation is not undone",
        (crl(1, listed=BEFORE), crl(2)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "fresh OCSP good beside a CRL listing",
        (ocsp(AT - DAY), crl(1, listed=BEFORE, reason="superseded")),
        REVOKED,
        "superseded",
        BEFORE,
    ),
    Case(
        "stale CRL listing still counts",
        (crl(1, listed=BEFORE, freshness=Freshness.STALE), ocsp(AT)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "revocation in a CRL issued after at (signature over time)",
        (crl(9, listed=BEFORE, freshness=Freshness.LATER, this_update=AFTER),),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "good CRL issued after at counts",
        (crl(9, freshness=Freshness.LATER, this_update=AFTER),),
        GOOD,
    ),
    Case(
        "good CRL issued after expiry does not count, freshness alone",
        (crl(9, freshness=Freshness.AFTER_EXPIRY, this_update=AFTER),),
        UNKNOWN,
        freshness_only=True,
    ),
    Case("stale good only", (crl(1, freshness=Freshness.STALE),), UNKNOWN, freshness_only=True),
    Case("stale good beside current good", (crl(1, freshness=Freshness.STALE), crl(2)), GOOD),
    Case(
        "hold not released",
        (crl(1, listed=BEFORE, reason=HOLD),),
        REVOKED,
        HOLD,
        BEFORE,
    ),
    Case(
        "hold released by a higher-numbered CRL of the scope",
        (crl(1, listed=BEFORE, reason=HOLD), crl(2)),
        GOOD,
    ),
    Case(
        "hold not released by a lower-numbered CRL",
        (crl(2, listed=BEFORE, reason=HOLD), crl(1)),
        REVOKED,
        HOLD,
        BEFORE,
    ),
    Case(
        "hold not released by a CRL of another scope",
        (crl(1, listed=BEFORE, reason=HOLD), crl(5, scope="crl CN=CA idp other")),
        REVOKED,
        HOLD,
        BEFORE,
    ),
    Case(
        "hold released only after at still stood at at",
        (
            crl(1, listed=BEFORE, reason=HOLD),
            crl(2, freshness=Freshness.LATER, this_update=AFTER),
        ),
        REVOKED,
        HOLD,
        BEFORE,
    ),
    Case(
        "hold released by a newer OCSP good",
        (crl(1, listed=BEFORE, reason=HOLD, this_update=BEFORE), ocsp(AT - DAY)),
        GOOD,
    ),
    Case(
        "hold not released by an older OCSP good",
        (crl(1, listed=BEFORE, reason=HOLD, this_update=AT - DAY), ocsp(BEFORE)),
        REVOKED,
        HOLD,
        BEFORE,
    ),
    Case(
        "OCSP hold released by a newer OCSP good",
        (ocsp(BEFORE, listed=BEFORE, reason=HOLD), ocsp(AT)),
        GOOD,
    ),
    Case(
        "hold placed after at: good at at",
        (crl(2, listed=AFTER, reason=HOLD, freshness=Freshness.LATER, this_update=AFTER),),
        GOOD,
        HOLD,
        AFTER,
    ),
    Case(
        "hold then final revocation: final wins",
        (crl(1, listed=BEFORE, reason=HOLD), crl(2), crl(3, listed=BEFORE)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "partial reasons do not make good",
        (crl(1, reasons=PART_A),),
        UNKNOWN,
    ),
    Case(
        "partial reasons together make good",
        (
            crl(1, reasons=PART_A),
            crl(1, scope="crl CN=CA idp rest", reasons=ALL_REASON_NAMES - PART_A),
        ),
        GOOD,
    ),
    Case(
        "unusable and responder-unknown findings are not evidence",
        (
            crl(1, status=FindingStatus.UNUSABLE),
            ocsp(AT, status=FindingStatus.UNKNOWN),
        ),
        UNKNOWN,
    ),
    Case(
        "unusable listing does not revoke",
        (crl(1, listed=BEFORE, status=FindingStatus.UNUSABLE), crl(2)),
        GOOD,
    ),
    Case(
        "contradictory evidence outweighs good",
        (crl(1, status=CONFLICT), ocsp(AT)),
        UNKNOWN,
        contradictory=True,
    ),
    Case(
        "a final revocation outweighs contradictory evidence",
        (crl(1, status=CONFLICT), crl(2, listed=BEFORE)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
    Case(
        "OCSP revoked beside a newer OCSP good",
        (ocsp(BEFORE, listed=BEFORE), ocsp(AT)),
        REVOKED,
        "keyCompromise",
        BEFORE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decision_table(case: Case) -> None:
    decision = decide(case.findings, at=AT)
    assert decision.status is case.status, decision.why
    if case.status is not UNKNOWN:
        assert decision.decided_by, "an answer names the evidence that gave it"
        assert set(decision.decided_by) <= set(case.findings)
    assert decision.reason == case.reason
    assert decision.revocation_time == case.revocation_time
    assert decision.freshness_only is case.freshness_only
    assert decision.contradictory is case.contradictory


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_revocation_answers_do_not_depend_on_input_order(case: Case) -> None:
    """The table's twin: every permutation of the same findings, and with duplicates,
    gives the same decision, deciding evidence included."""
    expected = decide(case.findings, at=AT)
    for order in itertools.permutations(case.findings):
        assert decide(order, at=AT) == expected
        assert decide([*order, *order], at=AT) == expected
