"""Hypothesis: mutated certificates, CRLs and pools give results or TrustkitErrors only."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustkit.encoding import load_certificate, load_ocsp_response
from trustkit.errors import RevocationUnknownError, TrustkitError
from trustkit.validation import RevocationMode, ValidationPolicy, validate

from .conftest import AT, issue, leaf, make_crl

ROOT = issue("Fuzz Root", None, ca=True)
INTER = issue("Fuzz CA", ROOT, ca=True)
LEAF = leaf(INTER, crl_urls=["http://127.0.0.1:9/x.crl"])
DER = serialization.Encoding.DER
TEMPLATES = [n.cert.public_bytes(DER) for n in (ROOT, INTER, LEAF)]
CRL_DER = make_crl(INTER).public_bytes(DER)


@st.composite
def mutated(draw: st.DrawFn, template: bytes) -> bytes:
    data = bytearray(template)
    for _ in range(draw(st.integers(1, 8))):
        choice = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(data) - 1))
        if choice == 0:
            data[pos] = draw(st.integers(0, 255))
        elif choice == 1:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif choice == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            data = data[:pos]
        if not data:
            data = bytearray(b"\x30")
    return bytes(data)


def _load(data: bytes) -> x509.Certificate | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_certificate(data)
    except TrustkitError:
        return None


def _check(
    ee: x509.Certificate, pool: list[x509.Certificate], crls: list[x509.CertificateRevocationList]
) -> None:
    for mode in (RevocationMode.SOFT_FAIL, RevocationMode.HARD_FAIL):
        try:
            validate(
                ee,
                trust_anchors=[ROOT.cert],
                intermediates=pool,
                crls=crls,
                at=AT,
                policy=ValidationPolicy(revocation=mode),
            )
        except TrustkitError:
            pass


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_garbage_into_loader(data: bytes) -> None:
    try:
        load_certificate(data)
    except TrustkitError:
        pass


def test_loader_bad_version_is_decode_error() -> None:
    der = bytearray(TEMPLATES[0])
    assert der[8:13] == b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT version v3
    der[12] = 0x05  # no such X.509 version
    with pytest.raises(TrustkitError):
        load_certificate(bytes(der))


@FUZZ
@given(st.sampled_from(range(3)).flatmap(lambda i: mutated(TEMPLATES[i])))
def test_mutated_end_entity(data: bytes) -> None:
    cert = _load(data)
    if cert is not None:
        _check(cert, [INTER.cert], [])


@FUZZ
@given(mutated(TEMPLATES[1]), st.lists(mutated(TEMPLATES[1]), max_size=3))
def test_mutated_pool(first: bytes, more: list[bytes]) -> None:
    pool = [c for c in (_load(d) for d in [first, *more]) if c is not None]
    _check(LEAF.cert, [*pool, INTER.cert], [])


@FUZZ
@given(mutated(CRL_DER))
def test_mutated_crl(data: bytes) -> None:
    try:
        crl = x509.load_der_x509_crl(data)
    except (ValueError, x509.InvalidVersion):
        return  # not a CRL cryptography will hand to anyone
    _check(LEAF.cert, [INTER.cert], [crl])


def test_fuzz_templates_are_valid() -> None:
    """The unmutated inputs validate: the fuzz tests start from a passing case."""
    result = validate(
        LEAF.cert,
        trust_anchors=[ROOT.cert],
        intermediates=[INTER.cert],
        at=AT,
        crls=[make_crl(ROOT), x509.load_der_x509_crl(CRL_DER)],
        policy=ValidationPolicy(revocation=RevocationMode.HARD_FAIL),
    )
    assert len(result.path) == 3
    with pytest.raises(TrustkitError):
        validate(LEAF.cert, trust_anchors=[ROOT.cert], at=AT)


def _ocsp_der() -> bytes:
    from cryptography.x509 import ocsp

    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=LEAF.cert,
            issuer=INTER.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=AT - timedelta(hours=1),
            next_update=AT + timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, INTER.cert)
        .sign(INTER.key, hashes.SHA256())
    )
    return response.public_bytes(DER)


OCSP_DER = _ocsp_der()


@FUZZ
@given(mutated(OCSP_DER))
def test_mutated_ocsp_response(data: bytes) -> None:
    try:
        response = load_ocsp_response(data, what="fuzz")
    except TrustkitError:
        return
    for mode in (RevocationMode.SOFT_FAIL, RevocationMode.HARD_FAIL):
        try:
            validate(
                LEAF.cert,
                trust_anchors=[ROOT.cert],
                intermediates=[INTER.cert],
                at=AT,
                crls=[make_crl(ROOT)],
                ocsp_responses=[response],
                policy=ValidationPolicy(revocation=mode),
            )
        except TrustkitError:
            pass


def test_unmutated_ocsp_response_is_used() -> None:
    response = load_ocsp_response(OCSP_DER, what="ocsp")
    result = validate(
        LEAF.cert,
        trust_anchors=[ROOT.cert],
        intermediates=[INTER.cert],
        at=AT,
        crls=[make_crl(ROOT)],
        ocsp_responses=[response],
        policy=ValidationPolicy(revocation=RevocationMode.HARD_FAIL),
    )
    assert result.revocation[0].source.value == "ocsp"


# --- regressions found by tests/fuzz/ (docs/fuzzing.md) -------------------------------

_FIRST, _SECOND = bytes.fromhex("06042a030401"), bytes.fromhex("06042a030402")  # 1.2.3.4.{1,2}
_ENTRY_FIRST, _ENTRY_SECOND = bytes.fromhex("06042a030501"), bytes.fromhex("06042a030502")


def _twin_extensions(arc: str) -> list[x509.UnrecognizedExtension]:
    return [
        x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{arc}.{i}"), b"\x05\x00") for i in (1, 2)
    ]


def _duplicated(der: bytes, first: bytes, second: bytes) -> bytes:
    """``der`` with the second of two extensions renamed as the first: a duplicate,
    which RFC 5280 4.2 and 5.2 forbid and cryptography reports as DuplicateExtension,
    an exception that is not a ValueError."""
    assert der.count(second) == 1
    return der.replace(second, first)


def test_duplicate_certificate_extension_is_a_validation_error() -> None:
    twin = leaf(INTER, extra=[(ext, False) for ext in _twin_extensions("1.2.3.4")])
    validate(twin.cert, trust_anchors=[ROOT.cert], intermediates=[INTER.cert], at=AT)
    bad = x509.load_der_x509_certificate(_duplicated(twin.cert.public_bytes(DER), _FIRST, _SECOND))
    with pytest.raises(TrustkitError):  # was DuplicateExtension, out of path building
        validate(bad, trust_anchors=[ROOT.cert], intermediates=[INTER.cert], at=AT)


def test_duplicate_crl_extensions_make_the_crl_unusable() -> None:
    entry = (
        x509.RevokedCertificateBuilder().serial_number(1).revocation_date(AT - timedelta(days=9))
    )
    for ext in _twin_extensions("1.2.3.5"):
        entry = entry.add_extension(ext, critical=False)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(INTER.cert.subject)
        .last_update(AT - timedelta(days=1))
        .next_update(AT + timedelta(days=1))
        .add_extension(x509.CRLNumber(7), critical=False)
        .add_revoked_certificate(entry.build())
    )
    for ext in _twin_extensions("1.2.3.4"):
        builder = builder.add_extension(ext, critical=False)
    der = builder.sign(INTER.key, hashes.SHA256()).public_bytes(DER)
    hard = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)

    def check(crl_der: bytes) -> None:
        crls = [make_crl(ROOT), x509.load_der_x509_crl(crl_der)]
        validate(
            LEAF.cert,
            trust_anchors=[ROOT.cert],
            intermediates=[INTER.cert],
            at=AT,
            crls=crls,
            policy=hard,
        )

    check(der)  # the twin: two different extensions, in the CRL and in its entry, are fine
    for first, second in ((_FIRST, _SECOND), (_ENTRY_FIRST, _ENTRY_SECOND)):
        with pytest.raises(RevocationUnknownError):
            check(_duplicated(der, first, second))
