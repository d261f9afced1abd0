"""The population benchmark at a small size, as a correctness check (never timed).

A CA holding 2,000 certificates (200 revoked at once through
``store.revoke_many``) must answer as a CA with an empty store does: the
status and the OCSP answer of the same kind of certificate, CRLs that list
exactly the revoked set, and an export of every record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509 import ocsp

from benchmarks.bench_scale import (
    AT,
    PASSPHRASE,
    PROFILE,
    Population,
    Side,
    _ocsp_requests,
    build,
    make_ca,
)
from trustkit.cli import cli
from trustkit.revocation.crl import build_crl, crl_scopes
from trustkit.revocation.ocsp import OCSPResponder, ResponderSettings
from trustkit.store import CertStatus

ISSUED, REVOKED = 2_000, 200


@pytest.fixture
def sides(tmp_path: Path, store_url: str) -> Iterator[tuple[Side, Side]]:
    url = None if store_url.startswith("sqlite") else store_url
    empty = Side("empty", tmp_path / "empty", make_ca(tmp_path / "empty", None), None)
    large = Side("population", tmp_path / "pop", make_ca(tmp_path / "pop", url), url)
    try:
        people = Population(pool=8)
        build(large, people, ISSUED, REVOKED)
        yield empty, large
    finally:
        empty.ca.close()
        large.ca.close()


def _ocsp_answer(side: Side, serial: int) -> tuple[ocsp.OCSPCertStatus, object]:
    responder = OCSPResponder(
        [side.ca], settings=ResponderSettings(cache_size=0), passphrase=PASSPHRASE
    )
    (request,) = _ocsp_requests(side.ca, [serial])
    response = ocsp.load_der_ocsp_response(responder.respond(request, at=AT))
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.serial_number == serial
    return response.certificate_status, response.revocation_reason


def _crl_serials(der: bytes) -> set[int]:
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def _exported(side: Side) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        cli,
        ["export", "--ca", str(side.ca_dir), "--format", "jsonl"],
        env={"TRUSTKIT_CA": ""},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_population_answers_as_an_empty_store_does(sides: tuple[Side, Side]) -> None:
    empty, large = sides
    assert len(large.serials) == ISSUED and len(large.revoked) == REVOKED
    people = Population(pool=2)
    answers = []
    for side in (empty, large):
        good, bad = (
            side.ca.issue(e.csr, PROFILE, subject=e.subject).serial for e in people.enrollments(2)
        )
        side.ca.revoke(bad, x509.ReasonFlags.key_compromise, at=AT)
        side.revoked.add(bad)
        status_good, status_bad = (
            side.ca.store.status(side.ca.id, good),
            side.ca.store.status(side.ca.id, bad),
        )
        assert status_good is not None and status_bad is not None
        answers.append(
            (
                status_good.status,
                status_bad.status,
                status_bad.reason,
                _ocsp_answer(side, good),
                _ocsp_answer(side, bad),
            )
        )
        # Every CRL scope lists exactly the revoked certificates (of its shard).
        complete = build_crl(side.ca, at=AT)
        assert _crl_serials(complete.der) == side.revoked
        shards: set[int] = set()
        for scope in crl_scopes(side.ca)[1:]:
            shard_serials = _crl_serials(build_crl(side.ca, at=AT, shard=scope).der)
            assert not shards & shard_serials
            shards |= shard_serials
        assert shards == side.revoked
        # The export has every record once, and the revoked ones as revoked.
        exported = _exported(side)
        serials = [int(str(r["serial"]), 16) for r in exported]
        assert len(serials) == len(set(serials)) == len(list(side.ca.list(der=False)))
        assert {s for s, r in zip(serials, exported, strict=True) if r["status"] == "revoked"} == (
            side.revoked
        )
        for record in exported[:3]:
            x509.load_pem_x509_certificate(str(record["pem"]).encode())
    assert answers[0] == answers[1]
    assert answers[0][:3] == (CertStatus.VALID, CertStatus.REVOKED, x509.ReasonFlags.key_compromise)
    assert answers[0][3][0] is ocsp.OCSPCertStatus.GOOD
    assert answers[0][4] == (ocsp.OCSPCertStatus.REVOKED, x509.ReasonFlags.key_compromise)
    # The population's status of a bulk-revoked serial is what revoke_many recorded.
    some = min(large.revoked)
    status = large.ca.store.status(large.ca.id, some)
    assert status is not None and status.status is CertStatus.REVOKED
