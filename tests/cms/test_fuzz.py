"""hypothesis fuzzing of the CMS parser and verifier: only reports or TrustkitErrors come out."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustkit._asn1 import parse_signed_data
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.cms.verify import verify_cms
from trustkit.errors import TrustkitError
from trustkit.tsa import LocalTimestamper

from .conftest import SIGNED_AT, VERIFY_AT, Pki

CONTENT = b"fuzzed content\n"
FIXTURE_OK = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def stamped(pki: Pki) -> bytes:
    key, cert = pki.signers["ec-p256"]
    timestamper = LocalTimestamper(pki.tsa, FixedClock(SIGNED_AT))
    return sign(CONTENT, Signer(key, cert, pki.chain), at=SIGNED_AT, timestamper=timestamper)


def _verify(pki: Pki, der: bytes) -> None:
    try:
        verify_cms(CONTENT, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    except TrustkitError:
        pass


@FIXTURE_OK
@given(st.binary(max_size=400))
def test_garbage(pki: Pki, data: bytes) -> None:
    _verify(pki, data)
    try:
        parse_signed_data(data)
    except TrustkitError:
        pass


@FIXTURE_OK
@given(st.data())
def test_mutated_signature(pki: Pki, stamped: bytes, data: st.DataObject) -> None:
    der = bytearray(stamped)
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(der) - 1))
        der[index] = data.draw(st.integers(0, 255))
    _verify(pki, bytes(der))


@FIXTURE_OK
@given(st.integers(1, 2000))
def test_truncated_signature(pki: Pki, stamped: bytes, cut: int) -> None:
    _verify(pki, stamped[: max(1, len(stamped) - cut)])
