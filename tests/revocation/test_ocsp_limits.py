"""The responder cannot be made to work without bound: a cap on CertIDs per request.

A request over the cap is refused as a whole with malformedRequest (RFC 6960
has no way to mark a response as covering only some CertIDs); one at the cap
is answered in full. Requests are made by OpenSSL (``openssl ocsp -reqout``,
one CertID per ``-cert``) so that the cap is checked on what real clients send.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import ocsp

from trustkit.revocation.ocsp import (
    DEFAULT_MAX_CERT_IDS,
    OCSPResponder,
    ResponderSettings,
)

from .conftest import PASSPHRASE, Hierarchy, issue_leaf, openssl
from .test_ocsp import _request


def _openssl_request(h: Hierarchy, count: int, nonce: bool = False) -> bytes:
    """An OCSP request for ``count`` CertIDs (the same leaves repeated), made by OpenSSL."""
    leaves = [h.good, h.revoked, h.other]
    files = [h.write(f"leaf{i}.pem", leaf.pem()) for i, leaf in enumerate(leaves)]
    cert_args = [a for i in range(count) for a in ("-cert", str(files[i % len(files)]))]
    out = h.directory / f"req-{count}.der"
    made = openssl(
        "ocsp",
        "-issuer",
        h.root_pem,
        *cert_args,
        *(() if nonce else ("-no_nonce",)),
        "-reqout",
        out,
    )
    assert made.returncode == 0, made.stderr
    return out.read_bytes()


def _responder(h: Hierarchy, **settings: object) -> OCSPResponder:
    return OCSPResponder(
        [h.ca],
        settings=ResponderSettings(**settings),  # type: ignore[arg-type]
        passphrase=PASSPHRASE,
    )


@pytest.mark.parametrize("nonce", [False, True], ids=["no_nonce", "nonce"])
def test_at_the_cap_every_certid_is_answered(hierarchy: Hierarchy, nonce: bool) -> None:
    request = _openssl_request(hierarchy, DEFAULT_MAX_CERT_IDS, nonce)
    answer = ocsp.load_der_ocsp_response(
        _responder(hierarchy).respond(request, at=hierarchy.ca.clock.now())
    )
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert len(list(answer.responses)) == DEFAULT_MAX_CERT_IDS


@pytest.mark.parametrize("nonce", [False, True], ids=["no_nonce", "nonce"])
def test_one_over_the_cap_is_malformed(hierarchy: Hierarchy, nonce: bool) -> None:
    # The twin: one CertID more and the whole request is refused.
    request = _openssl_request(hierarchy, DEFAULT_MAX_CERT_IDS + 1, nonce)
    answer = ocsp.load_der_ocsp_response(
        _responder(hierarchy).respond(request, at=hierarchy.ca.clock.now())
    )
    assert answer.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_the_cap_is_configurable(hierarchy: Hierarchy) -> None:
    at = hierarchy.ca.clock.now()
    three = _openssl_request(hierarchy, 3)
    two = _responder(hierarchy, max_cert_ids=2)
    refused = ocsp.load_der_ocsp_response(two.respond(three, at=at))
    assert refused.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    answered = ocsp.load_der_ocsp_response(
        _responder(hierarchy, max_cert_ids=3).respond(three, at=at)
    )
    assert answered.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    # A single CertID is always within the cap (cryptography's fast path).
    single = _request(hierarchy.good.certificate, hierarchy.ca.certificate)
    one = _responder(hierarchy, max_cert_ids=1).respond(single, at=at)
    assert ocsp.load_der_ocsp_response(one).response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    with pytest.raises(ValueError, match="max_cert_ids"):
        ResponderSettings(max_cert_ids=0)


def test_a_hostile_request_is_refused_before_any_store_lookup(
    hierarchy: Hierarchy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 700 CertIDs in one request (56 KB): refused without a single status lookup.
    request = _openssl_request(hierarchy, 700)
    assert len(request) > 50_000
    lookups: list[int] = []
    store = hierarchy.ca.store
    one, many = store.status, store.statuses

    def counted_one(issuer: str, serial: int) -> object:
        lookups.append(serial)
        return one(issuer, serial)

    def counted_many(issuer: str, serials: list[int]) -> object:
        lookups.extend(serials)
        return many(issuer, serials)

    monkeypatch.setattr(store, "status", counted_one)
    monkeypatch.setattr(store, "statuses", counted_many)
    responder = _responder(hierarchy)
    answer = responder.respond(request, at=hierarchy.ca.clock.now())
    assert ocsp.load_der_ocsp_response(answer).response_status is (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert lookups == []
    # The twin: a request within the cap looks its CertIDs up.
    responder.respond(_openssl_request(hierarchy, 4, nonce=True), at=hierarchy.ca.clock.now())
    assert set(lookups) == {h.serial for h in (hierarchy.good, hierarchy.revoked, hierarchy.other)}


def test_cached_answers_only_without_a_store_query(hierarchy: Hierarchy, tmp_path: Path) -> None:
    responder = _responder(hierarchy, revocation_poll=timedelta(seconds=1))
    at = hierarchy.ca.clock.now()
    request = _request(hierarchy.good.certificate, hierarchy.ca.certificate)
    assert responder.cached(request, at=at) is None  # nothing cached yet
    first = responder.respond(request, at=at)
    assert responder.cached(request, at=at) == first
    # Past the poll interval the store must be asked: not from the cache alone.
    assert responder.cached(request, at=at + timedelta(seconds=2)) is None
    # A request with a nonce is never cached.
    with_nonce = _request(hierarchy.good.certificate, hierarchy.ca.certificate, nonce=b"n" * 16)
    responder.respond(with_nonce, at=at)
    assert responder.cached(with_nonce, at=at) is None
    # Without a poll interval every answer needs the store.
    strict = _responder(hierarchy)
    strict.respond(request, at=at)
    assert strict.cached(request, at=at) is None
    # A revocation seen by the responder makes the cached answer stale.
    leaf = issue_leaf(hierarchy.ca, "late.example.gov")
    late = _request(leaf.certificate, hierarchy.ca.certificate)
    responder.respond(late, at=at)
    assert responder.cached(late, at=at) is not None
    hierarchy.ca.revoke(leaf.serial, x509.ReasonFlags.superseded)
    later = at + timedelta(seconds=2)
    responder.respond(request, at=later)  # the responder reads the new sequence number
    assert responder.cached(late, at=later) is None
