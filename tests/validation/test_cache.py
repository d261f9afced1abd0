"""The validation caches never answer for inputs they were not filled with.

Each test validates once to fill the caches, then changes one input the result
depends on (the time, a CRL, a signature byte, the pool, the purpose, the host
name, the policy) and expects what a fresh validation gives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.errors import (
    DisallowedAlgorithmError,
    InvalidPurposeError,
    PathBuildingError,
    PathValidationError,
    RevocationUnknownError,
    RevokedError,
)
from trustkit.validation import (
    AlgorithmPolicy,
    Purpose,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
    validate,
)
from trustkit.validation._cache import LruCache, clear_caches

from .conftest import AT, NOT_AFTER, NOT_BEFORE, Node, Pki, make_crl

HARD = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)


def _validate(pki: Pki, ee: Node, **kwargs: object) -> object:
    return validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[pki.inter.cert],
        **{"at": AT, **kwargs},  # type: ignore[arg-type]
    )


def test_lru_cache_is_bounded_and_keeps_recent_entries() -> None:
    cache: LruCache[int, str] = LruCache(3)
    for key in range(3):
        cache.put(key, str(key))
    assert cache.get(0) == "0"  # 0 is now the most recent
    cache.put(3, "3")
    assert len(cache) == 3
    assert cache.get(1) is None  # the least recently used went
    assert [cache.get(k) for k in (0, 2, 3)] == ["0", "2", "3"]
    with pytest.raises(ValueError, match="maxsize"):
        LruCache(0)


def test_the_time_is_in_the_key(pki: Pki) -> None:
    ee = pki.make_leaf()
    _validate(pki, ee)
    _validate(pki, ee, at=NOT_AFTER)  # notAfter itself is inside (RFC 5280 4.1.2.5)
    _validate(pki, ee, at=NOT_AFTER + timedelta(milliseconds=999))  # through its second
    with pytest.raises(PathValidationError, match=r"expired|trust anchor is not valid"):
        _validate(pki, ee, at=NOT_AFTER + timedelta(seconds=1))
    for early in (timedelta(seconds=1), timedelta(milliseconds=1)):  # the second before
        with pytest.raises(PathValidationError, match=r"notBefore|trust anchor is not valid"):
            _validate(pki, ee, at=NOT_BEFORE - early)
    _validate(pki, ee, at=NOT_BEFORE)


def test_crls_are_in_the_key(pki: Pki) -> None:
    ee = pki.make_leaf()
    good = [make_crl(pki.root), make_crl(pki.inter)]
    result = _validate(pki, ee, crls=good, policy=HARD)
    assert [e.status for e in result.revocation] == [RevocationStatus.GOOD] * 2  # type: ignore[attr-defined]
    revoked = [make_crl(pki.root), make_crl(pki.inter, [(ee.cert.serial_number, None)])]
    with pytest.raises(RevokedError):
        _validate(pki, ee, crls=revoked, policy=HARD)
    # The same CRL objects again: still revoked, from the cached entry index.
    with pytest.raises(RevokedError):
        _validate(pki, ee, crls=revoked, policy=HARD)
    _validate(pki, ee, crls=good, policy=HARD)


def test_crl_freshness_follows_the_time(pki: Pki) -> None:
    ee = pki.make_leaf()
    next_update = AT + timedelta(days=1)
    crls = [
        make_crl(pki.root, next_update=next_update),
        make_crl(pki.inter, next_update=next_update),
    ]
    _validate(pki, ee, crls=crls, policy=HARD, at=next_update)
    with pytest.raises(RevocationUnknownError, match="stale"):
        _validate(pki, ee, crls=crls, policy=HARD, at=next_update + timedelta(seconds=1))


def test_a_changed_signature_is_checked_again(pki: Pki) -> None:
    ee = pki.make_leaf()
    _validate(pki, ee)
    der = bytearray(ee.cert.public_bytes(Encoding.DER))
    der[-1] ^= 0x01  # the last byte of the ECDSA signature value; the TBS is unchanged
    tampered = x509.load_der_x509_certificate(bytes(der))
    assert tampered.tbs_certificate_bytes == ee.cert.tbs_certificate_bytes
    with pytest.raises(PathBuildingError, match="signature"):
        validate(tampered, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)


def test_the_pool_is_in_the_key(pki: Pki) -> None:
    ee = pki.make_leaf()
    _validate(pki, ee)
    with pytest.raises(PathBuildingError):
        validate(ee.cert, trust_anchors=[pki.root.cert], at=AT)


def test_purpose_and_host_name_are_in_the_key(pki: Pki) -> None:
    ee = pki.make_leaf(dns=("a.example.gov",))
    _validate(pki, ee, purpose=Purpose.TLS_SERVER, hostname="a.example.gov")
    with pytest.raises(InvalidPurposeError, match="host name"):
        _validate(pki, ee, purpose=Purpose.TLS_SERVER, hostname="b.example.gov")
    with pytest.raises(InvalidPurposeError, match="codeSigning"):
        _validate(pki, ee, purpose=Purpose.CODE_SIGNING)


def test_the_policy_is_in_the_key(rsa_pki: Pki) -> None:
    ee = rsa_pki.make_leaf()
    _validate(rsa_pki, ee)
    strict = ValidationPolicy(algorithms=AlgorithmPolicy(min_rsa_bits=3072))
    with pytest.raises(DisallowedAlgorithmError, match="below the minimum 3072"):
        _validate(rsa_pki, ee, policy=strict)


def test_an_equal_certificate_parsed_again_gives_the_same_result(pki: Pki) -> None:
    ee = pki.make_leaf()
    first = _validate(pki, ee)
    again = x509.load_der_x509_certificate(ee.cert.public_bytes(Encoding.DER))
    second = validate(again, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)
    clear_caches()
    fresh = _validate(pki, ee)
    assert first == second == fresh
    other = pki.make_leaf()
    assert _validate(pki, other).path[0] == other.cert  # type: ignore[attr-defined]
