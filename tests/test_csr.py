"""PKCS#10 requests: building, defensive loading, proof of possession, OpenSSL interop."""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.explicit_curve import explicit_csr
from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.csr import (
    create_csr,
    csr_fingerprint,
    curve_encoding_problem,
    load_csr,
    requested_extensions,
    requested_sans,
    verify_proof_of_possession,
)
from trustkit.encoding import pem_encode
from trustkit.errors import CSRError, DecodeError, PolicyViolation, TrustkitError
from trustkit.keys import KeyType, PrivateKey, generate_key, save_private_key
from trustkit.names import parse_general_names, parse_name

SUBJECT = "CN=www.example.gov,O=Example Agency,C=EX"
SANS = ["dns:www.example.gov", "dns:bücher.example", "ip:192.0.2.1", "email:web@example.gov"]


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return generate_key(KeyType.EC_P256)


@pytest.fixture(scope="module")
def csr(key: PrivateKey) -> x509.CertificateSigningRequest:
    return create_csr(key, parse_name(SUBJECT), parse_general_names(SANS))


def _der(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.DER)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize("key_type", list(KeyType), ids=lambda t: t.value)
def test_create_with_sans_for_each_key_type(key_type: KeyType) -> None:
    key = generate_key(key_type)
    csr = create_csr(key, parse_name(SUBJECT), parse_general_names(SANS[:2]))
    verify_proof_of_possession(csr)
    assert csr.subject == parse_name(SUBJECT)
    san = requested_extensions(csr).get_extension_for_class(x509.SubjectAlternativeName)
    assert not san.critical
    assert requested_sans(csr) == [
        x509.DNSName("www.example.gov"),
        x509.DNSName("xn--bcher-kva.example"),
    ]


def test_pem_and_der_load(csr: x509.CertificateSigningRequest) -> None:
    pem = csr.public_bytes(serialization.Encoding.PEM)
    for data in (pem, _der(csr)):
        loaded = load_csr(data)
        assert loaded == csr
        assert requested_sans(loaded)[2] == x509.IPAddress(ipaddress.IPv4Address("192.0.2.1"))
        assert csr_fingerprint(loaded) == hashlib.sha256(_der(csr)).hexdigest()


def test_load_refuses_other_objects(key: PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(DecodeError, match="CERTIFICATE REQUEST"):
        load_csr(pem)


def test_proof_of_possession_and_tampered_twin(csr: x509.CertificateSigningRequest) -> None:
    der = _der(csr)
    verify_proof_of_possession(load_csr(der))
    # Flip a bit inside the subject's CN: the request still parses, the signature no longer fits.
    index = der.index(b"www.example.gov")
    tampered = load_csr(_flip(der, index))
    with pytest.raises(CSRError) as info:
        verify_proof_of_possession(tampered)
    assert str(info.value) == (
        "CSR signature: does not verify with the request's own public key "
        "(proof of possession, RFC 2986)"
    )


def test_empty_subject_makes_san_critical(key: PrivateKey) -> None:
    csr = create_csr(key, x509.Name([]), parse_general_names(["dns:a.example.gov"]))
    san = requested_extensions(csr).get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    with pytest.raises(CSRError, match=r"subjectAltName is required \(RFC 5280 4.2.1.6\)"):
        create_csr(key, x509.Name([]))


def test_no_sans_and_extra_extensions(key: PrivateKey) -> None:
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    csr = create_csr(key, parse_name("CN=Alice"), extensions=[usage])
    assert requested_sans(csr) == []
    assert requested_extensions(csr).get_extension_for_class(x509.KeyUsage).critical
    with pytest.raises(CSRError, match="subjectAltName given both"):
        create_csr(
            key,
            parse_name("CN=Alice"),
            parse_general_names(["dns:a.example"]),
            extensions=[x509.SubjectAlternativeName([x509.DNSName("b.example")])],
        )


def test_malformed_extension_request_is_csr_error(csr: x509.CertificateSigningRequest) -> None:
    der = _der(csr)
    # Make the first DNSName's length one too long: the outer DER still parses (the
    # extension value is an opaque OCTET STRING), the SAN inside it does not.
    index = der.index(b"\x82\x0fwww.example.gov")
    broken = der[: index + 1] + b"\x10" + der[index + 2 :]
    with pytest.raises(CSRError, match="extensionRequest"):
        load_csr(broken)
    raw = x509.load_der_x509_csr(broken)  # cryptography loads it; access is what fails
    with pytest.raises(CSRError, match="extensionRequest"):
        requested_sans(raw)
    with pytest.raises(CSRError, match="extensionRequest"):
        requested_extensions(raw)


def test_unknown_public_key_algorithm_is_csr_error(csr: x509.CertificateSigningRequest) -> None:
    der = _der(csr)
    ec_public_key_oid = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey, RFC 5480
    index = der.index(ec_public_key_oid) + len(ec_public_key_oid) - 1
    with pytest.raises(CSRError, match="unknown or unsupported public key algorithm"):
        load_csr(der[:index] + b"\x09" + der[index + 1 :])


def test_subject_outside_length_bounds_is_csr_error(key: PrivateKey) -> None:
    # cryptography only warns when it reads a three-letter countryName; load_csr refuses.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        country = x509.NameAttribute(NameOID.COUNTRY_NAME, "EXA", _validate=False)
        builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([country]))
        der = _der(builder.sign(key, hashes.SHA256()))
    with pytest.raises(CSRError, match=r"CSR subject: .*length"):
        load_csr(der)
    good = create_csr(key, parse_name("C=EX"), ())
    assert load_csr(_der(good)).subject == parse_name("C=EX")


# --- interop with OpenSSL --------------------------------------------------------------


@pytest.mark.interop
def test_openssl_made_csr_loads_and_sans_read_back(tmp_path: Path) -> None:
    key_path = tmp_path / "key.pem"
    req_path = tmp_path / "req.pem"
    genkey = subprocess.run(
        [
            *("openssl", "genpkey", "-algorithm", "EC"),
            *("-pkeyopt", "ec_paramgen_curve:P-384", "-out", str(key_path)),
        ],
        capture_output=True,
        check=False,
    )
    assert genkey.returncode == 0, genkey.stderr.decode()
    req = subprocess.run(
        [
            *("openssl", "req", "-new", "-key", str(key_path), "-out", str(req_path)),
            *("-subj", "/C=EX/O=Example Agency/CN=portal.example.gov"),
            *(
                "-addext",
                "subjectAltName=DNS:portal.example.gov,IP:2001:db8::7,email:a@example.gov",
            ),
        ],
        capture_output=True,
        check=False,
    )
    assert req.returncode == 0, req.stderr.decode()
    csr = load_csr(req_path.read_bytes())
    verify_proof_of_possession(csr)
    assert csr.subject == parse_name("CN=portal.example.gov,O=Example Agency,C=EX")
    assert requested_sans(csr) == parse_general_names(
        ["dns:portal.example.gov", "ip:2001:db8::7", "email:a@example.gov"]
    )
    # The negative twin: the same request with one signature bit flipped fails PoP.
    der = _der(csr)
    with pytest.raises(CSRError, match="proof of possession"):
        verify_proof_of_possession(load_csr(_flip(der, len(der) - 2)))


@pytest.mark.interop
def test_openssl_verifies_trustkit_csr(tmp_path: Path, key: PrivateKey) -> None:
    csr = create_csr(key, parse_name(SUBJECT), parse_general_names(SANS))
    path = tmp_path / "req.pem"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "req", "-in", str(path), "-verify", "-noout", "-text"],
        capture_output=True,
        check=False,
    )
    # OpenSSL 3.0 exits 0 even when -verify fails, so read what it says.
    assert "verify OK" in result.stderr.decode(), result.stderr.decode()
    assert "DNS:xn--bcher-kva.example" in result.stdout.decode()
    broken = tmp_path / "broken.der"
    der = _der(csr)
    broken.write_bytes(_flip(der, der.index(b"www.example.gov")))
    failed = subprocess.run(
        ["openssl", "req", "-inform", "DER", "-in", str(broken), "-verify", "-noout"],
        capture_output=True,
        check=False,
    )
    assert "verify OK" not in failed.stderr.decode()
    assert "verify failure" in failed.stderr.decode()


@pytest.mark.interop
def test_trustkit_key_file_signs_openssl_csr(tmp_path: Path) -> None:
    """A key saved by trustkit is usable by `openssl req`, and trustkit reads the result."""
    key = generate_key(KeyType.RSA_2048)
    key_path = save_private_key(key, tmp_path / "key.pem", b"pass phrase")
    req_path = tmp_path / "req.der"
    result = subprocess.run(
        [
            *("openssl", "req", "-new", "-key", str(key_path), "-passin", "pass:pass phrase"),
            *("-subj", "/CN=Alice", "-outform", "DER", "-out", str(req_path)),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    csr = load_csr(req_path.read_bytes())
    verify_proof_of_possession(csr)
    assert csr.public_key() == key.public_key()
    assert requested_sans(csr) == []


# --- fuzz ------------------------------------------------------------------------------

_FUZZ_DER = _der(
    create_csr(
        generate_key(KeyType.EC_P256),
        parse_name(SUBJECT),
        parse_general_names(SANS),
    )
)


def _exercise(data: bytes) -> None:
    try:
        csr = load_csr(data)
        requested_sans(csr)
        verify_proof_of_possession(csr)
    except TrustkitError:
        pass


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    _exercise(data)
    _exercise(b"\x30" + data)


@settings(max_examples=400, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
        min_size=1,
        max_size=4,
    )
)
def test_fuzz_mutated_csr(edits: list[tuple[int, int]]) -> None:
    data = bytearray(_FUZZ_DER)
    for position, value in edits:
        data[position % len(data)] = value
    _exercise(bytes(data))


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(_FUZZ_DER)))
def test_fuzz_truncated_csr(cut: int) -> None:
    _exercise(_FUZZ_DER[:cut])


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=3))
def test_fuzz_raw_csr_accessors(edits: list[tuple[int, int]]) -> None:
    """requested_sans on a request loaded by cryptography directly, skipping load_csr."""
    data = bytearray(_FUZZ_DER)
    for position, value in edits:
        data[position % len(data)] = value
    try:
        raw = x509.load_der_x509_csr(bytes(data))
    except (ValueError, x509.InvalidVersion):
        return
    try:
        requested_sans(raw)
        requested_extensions(raw)
        verify_proof_of_possession(raw)
    except TrustkitError:
        pass


def test_duplicate_requested_extension_is_csr_error() -> None:
    """Found by tests/fuzz/fuzz_csr.py: cryptography's DuplicateExtension is no ValueError."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(parse_name("CN=Alice"))
    for arc in (1, 2):  # 1.2.3.4.1 and 1.2.3.4.2, DER 06 04 2a 03 04 0N
        oid = x509.ObjectIdentifier(f"1.2.3.4.{arc}")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, b"\x05\x00"), False)
    der = _der(builder.sign(generate_key(KeyType.EC_P256), hashes.SHA256()))
    assert len(requested_extensions(load_csr(der))) == 2  # the twin: two different extensions
    duplicated = der.replace(bytes.fromhex("06042a030402"), bytes.fromhex("06042a030401"))
    with pytest.raises(CSRError, match="extensionRequest: cannot be decoded"):
        load_csr(duplicated)


def test_a_san_of_a_kind_cryptography_cannot_represent_is_a_csr_error() -> None:
    """x400Address and ediPartyName SANs (RFC 5280 4.2.1.6) are refused, not crashed on."""
    directory = x509.DirectoryName(parse_name("CN=Marker,O=Example,C=EX"))
    csr = create_csr(generate_key(), parse_name("CN=a"), [directory])
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    # Retag the directoryName ([4], constructed: 0xA4) as an x400Address ([3]: 0xA3).
    marker = directory.value.public_bytes()
    at = bytes(der).index(marker) - 2
    assert der[at] == 0xA4
    der[at] = 0xA3
    with pytest.raises(CSRError, match="cannot be decoded"):
        load_csr(bytes(der))
    with pytest.raises(CSRError, match="cannot be decoded"):
        requested_sans(x509.load_der_x509_csr(bytes(der)))


# --- named curves only (RFC 5480 2.1.1) ------------------------------------------------


def _explicit_twin(
    key: PrivateKey, subject: str = SUBJECT, sans: list[str] = SANS
) -> tuple[bytes, bytes]:
    """DER of one request with its key's curve named, and the same with it explicit."""
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    named = create_csr(key, parse_name(subject), parse_general_names(sans))
    return _der(named), explicit_csr(named, key)


def test_explicit_curve_request_refused_at_load(key: PrivateKey) -> None:
    named, explicit = _explicit_twin(key)
    # cryptography alone takes it: P-256's explicit parameters read as secp256r1.
    assert x509.load_der_x509_csr(explicit).public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert x509.load_der_x509_csr(explicit).is_signature_valid
    assert load_csr(named).subject == parse_name(SUBJECT)  # the twin
    with pytest.raises(CSRError, match=r"req\.pem subjectPublicKeyInfo: elliptic curve given as "):
        load_csr(explicit, what="req.pem")
    with pytest.raises(CSRError, match="specifiedCurve"):
        load_csr(pem_encode("CERTIFICATE REQUEST", explicit))
    assert curve_encoding_problem(x509.load_der_x509_csr(named)) is None


def test_explicit_curve_request_refused_at_issuance(
    key: PrivateKey, tmp_path: Path, clock: FixedClock
) -> None:
    """A request loaded past load_csr (cryptography directly) is still refused by policy."""
    ca = CertificateAuthority.create_root(
        "CN=Curve Root,O=Example,C=EX",
        tmp_path / "root",
        passphrase=b"curve root pass",
        clock=clock,
    )
    named, explicit = _explicit_twin(key, "CN=www.example.gov", ["dns:www.example.gov"])
    issued = ca.issue(x509.load_der_x509_csr(named), "tls-server", days=30)
    assert issued.certificate.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(PolicyViolation) as caught:
        ca.issue(x509.load_der_x509_csr(explicit), "tls-server", days=30)
    (violation,) = caught.value.violations
    assert (violation.check, violation.field) == ("key-type", "csr.publicKey")
    assert "specifiedCurve, not a namedCurve (RFC 5480 2.1.1" in violation.message


@pytest.mark.interop
def test_openssl_explicit_parameters_request_refused(tmp_path: Path) -> None:
    """A request `openssl req` makes from an explicit-parameters key, against its twin."""
    for param_enc, refused in (("named_curve", False), ("explicit", True)):
        key_path, request_path = tmp_path / f"{param_enc}.key", tmp_path / f"{param_enc}.csr"
        for args in (
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-param_enc", param_enc,
             "-out", str(key_path)],
            ["req", "-new", "-key", str(key_path), "-subj", "/CN=www.example.gov",
             "-out", str(request_path)],
        ):  # fmt: skip
            result = subprocess.run(["openssl", *args], capture_output=True, check=False)
            assert result.returncode == 0, result.stderr.decode()
        data = request_path.read_bytes()
        if refused:
            with pytest.raises(CSRError, match="specifiedCurve, not a namedCurve"):
                load_csr(data)
        else:
            assert load_csr(data).subject.rfc4514_string() == "CN=www.example.gov"
