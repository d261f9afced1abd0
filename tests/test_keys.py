"""Key generation, encrypted key files, and interop with OpenSSL's key tools."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.explicit_curve import explicit_pkcs8, explicit_sec1
from trustkit._asn1 import encode_pbes2_private_key_info
from trustkit.encoding import format_serial, pem_encode
from trustkit.errors import InputError, KeyFileError, PassphraseError, TrustkitError
from trustkit.keys import (
    DEFAULT_CA_KEY_TYPE,
    DEFAULT_LEAF_KEY_TYPE,
    MIN_PBKDF2_ITERATIONS,
    PBKDF2_ITERATIONS,
    TEST_KDF_ITERATIONS_ENV,
    KeyType,
    PrivateKey,
    default_kdf_iterations,
    describe_key,
    generate_key,
    key_type_of,
    load_private_key,
    load_private_key_file,
    public_key_fingerprint,
    save_private_key,
    serialize_private_key,
    signature_hash_for,
)

PASSPHRASE = b"correct horse battery staple"

EXPECTED = {
    KeyType.EC_P256: ("EC P-256", hashes.SHA256),
    KeyType.EC_P384: ("EC P-384", hashes.SHA384),
    KeyType.RSA_2048: ("RSA 2048", hashes.SHA256),
    KeyType.RSA_3072: ("RSA 3072", hashes.SHA256),
    KeyType.RSA_4096: ("RSA 4096", hashes.SHA256),
    KeyType.ED25519: ("Ed25519", None),
}


@pytest.fixture(scope="module")
def ec_key() -> PrivateKey:
    return generate_key(KeyType.EC_P256)


def _openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, check=False)


@pytest.mark.parametrize("key_type", list(KeyType), ids=lambda t: t.value)
def test_generate_each_key_type(key_type: KeyType) -> None:
    key = generate_key(key_type)
    description, hash_class = EXPECTED[key_type]
    assert key_type_of(key) is key_type
    assert key_type_of(key.public_key()) is key_type
    assert describe_key(key) == description
    chosen = signature_hash_for(key)
    if hash_class is None:
        assert chosen is None
    else:
        assert isinstance(chosen, hash_class)


def test_generate_by_name_and_defaults() -> None:
    assert key_type_of(generate_key("EC-P384")) is KeyType.EC_P384
    assert key_type_of(generate_key()) is DEFAULT_LEAF_KEY_TYPE is KeyType.EC_P256
    assert DEFAULT_CA_KEY_TYPE is KeyType.EC_P384


def test_key_type_parse_refuses_unknown_and_names_allowed() -> None:
    with pytest.raises(InputError, match="ec-p256, ec-p384, rsa-2048"):
        KeyType.parse("rsa-1024")


def test_key_type_of_is_none_outside_the_list() -> None:
    p521 = ec.generate_private_key(ec.SECP521R1())
    assert key_type_of(p521) is None
    assert describe_key(p521) == "EC secp521r1"
    assert isinstance(signature_hash_for(p521), hashes.SHA512)
    rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert key_type_of(rsa1024) is None
    assert describe_key(rsa1024.public_key()) == "RSA 1024"


def test_describe_other_algorithms() -> None:
    dsa_key = dsa.generate_private_key(key_size=1024)
    assert describe_key(dsa_key.public_key()) == "DSA 1024"
    assert key_type_of(dsa_key) is None
    x_key = x25519.X25519PrivateKey.generate()
    assert describe_key(x_key) == "X25519"
    with pytest.raises(KeyFileError, match="X25519 keys cannot sign"):
        signature_hash_for(x_key)


def test_save_load_round_trip_with_mode_0600(tmp_path: Path, ec_key: PrivateKey) -> None:
    path = save_private_key(ec_key, tmp_path / "key.pem", PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = load_private_key_file(path, PASSPHRASE)
    assert public_key_fingerprint(loaded) == public_key_fingerprint(ec_key)


@pytest.mark.interop
def test_key_file_kdf_parameters_as_openssl_reads_them(
    tmp_path: Path, ec_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped count, as a user gets it: without the test suite's cheap setting.
    monkeypatch.delenv(TEST_KDF_ITERATIONS_ENV)
    path = save_private_key(ec_key, tmp_path / "key.pem", PASSPHRASE)
    dump = _openssl("asn1parse", "-in", str(path)).stdout.decode()
    assert ":PBES2" in dump
    assert ":PBKDF2" in dump
    assert ":hmacWithSHA256" in dump
    assert ":aes-256-cbc" in dump
    assert f":{format_serial(PBKDF2_ITERATIONS)}\n" in dump  # INTEGERs in even-length hex
    # The twin: a file written with a lower count says so, and still loads.
    fast = save_private_key(ec_key, tmp_path / "fast.pem", PASSPHRASE, kdf_iterations=4096)
    assert ":1000\n" in _openssl("asn1parse", "-in", str(fast)).stdout.decode()
    assert public_key_fingerprint(load_private_key_file(fast, PASSPHRASE)) == (
        public_key_fingerprint(ec_key)
    )


def _pbkdf2_count(path: Path) -> int:
    """The PBKDF2 iteration count protecting a key file or PKCS#12 file, as OpenSSL reads it."""
    if path.suffix == ".p12":
        info = _openssl(
            "pkcs12", "-info", "-noout", "-in", str(path), "-passin", f"pass:{PASSPHRASE.decode()}"
        )
        # "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 1000, PRF hmacWithSHA256"
        counts = {
            line.split("Iteration ")[1].split(",")[0]
            for line in (info.stdout + info.stderr).decode().splitlines()
            if "PBKDF2" in line
        }
        assert len(counts) == 1, counts
        return int(counts.pop())
    lines = _openssl("asn1parse", "-in", str(path)).stdout.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if ":PBKDF2" in line)
    # PBKDF2-params (RFC 8018 A.2): salt OCTET STRING, then iterationCount INTEGER.
    count = next(line for line in lines[at:] if "INTEGER" in line)
    return int(count.rsplit(":", 1)[1], 16)


@pytest.mark.interop
def test_test_only_kdf_setting_is_the_suites_and_never_the_default(
    tmp_path: Path, ec_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509

    from trustkit.bundles import PKCS12_KDF_ROUNDS, export_pkcs12

    name = x509.Name.from_rfc4514_string("CN=KDF test")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    certificate = x509.CertificateBuilder(
        name, name, ec_key.public_key(), 1, start, start + timedelta(1)
    ).sign(ec_key, hashes.SHA256())
    # tests/conftest.py sets the test-only count for the whole suite ...
    assert default_kdf_iterations() == MIN_PBKDF2_ITERATIONS
    save_private_key(ec_key, tmp_path / "cheap.pem", PASSPHRASE)
    (tmp_path / "cheap.p12").write_bytes(export_pkcs12(certificate, ec_key, [], PASSPHRASE))
    assert _pbkdf2_count(tmp_path / "cheap.pem") == MIN_PBKDF2_ITERATIONS
    assert _pbkdf2_count(tmp_path / "cheap.p12") == MIN_PBKDF2_ITERATIONS
    # ... and without it, what ships is the full count for both kinds of file.
    monkeypatch.delenv(TEST_KDF_ITERATIONS_ENV)
    assert default_kdf_iterations() == PBKDF2_ITERATIONS
    save_private_key(ec_key, tmp_path / "full.pem", PASSPHRASE)
    (tmp_path / "full.p12").write_bytes(export_pkcs12(certificate, ec_key, [], PASSPHRASE))
    assert _pbkdf2_count(tmp_path / "full.pem") == PBKDF2_ITERATIONS
    assert _pbkdf2_count(tmp_path / "full.p12") == PKCS12_KDF_ROUNDS == PBKDF2_ITERATIONS


@pytest.mark.parametrize("value", ["999", "0", "-5000", "fast", "", "1e6"])
def test_test_only_kdf_setting_refuses_what_is_not_a_count(
    value: str, ec_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TEST_KDF_ITERATIONS_ENV, value)
    with pytest.raises(KeyFileError, match=TEST_KDF_ITERATIONS_ENV):
        serialize_private_key(ec_key, PASSPHRASE)


def test_too_few_kdf_iterations_refused(ec_key: PrivateKey) -> None:
    with pytest.raises(KeyFileError, match="at least 1000 needed"):
        serialize_private_key(ec_key, PASSPHRASE, kdf_iterations=MIN_PBKDF2_ITERATIONS - 1)


def test_wrong_passphrase(tmp_path: Path, ec_key: PrivateKey) -> None:
    path = save_private_key(ec_key, tmp_path / "key.pem", PASSPHRASE)
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        load_private_key_file(path, b"not the passphrase")


def test_missing_passphrase(ec_key: PrivateKey) -> None:
    data = serialize_private_key(ec_key, PASSPHRASE)
    with pytest.raises(PassphraseError) as info:
        load_private_key(data)
    assert str(info.value) == "private key: encrypted, a passphrase is needed"


def test_save_refuses_unencrypted_unless_allowed(tmp_path: Path, ec_key: PrivateKey) -> None:
    with pytest.raises(KeyFileError, match="encrypted at rest: give a passphrase"):
        save_private_key(ec_key, tmp_path / "key.pem", None)
    assert not (tmp_path / "key.pem").exists()
    path = save_private_key(ec_key, tmp_path / "key.pem", None, allow_unencrypted=True)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_refuses_empty_passphrase(tmp_path: Path, ec_key: PrivateKey) -> None:
    with pytest.raises(KeyFileError, match="empty passphrase"):
        save_private_key(ec_key, tmp_path / "key.pem", b"")


def test_passphrase_for_unencrypted_key_is_ignored(ec_key: PrivateKey) -> None:
    data = serialize_private_key(ec_key, None)
    loaded = load_private_key(data, b"whatever")
    assert public_key_fingerprint(loaded) == public_key_fingerprint(ec_key)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(KeyFileError, match=str(missing)):
        load_private_key_file(missing)


@pytest.mark.parametrize(
    "private_format",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
    ids=["pkcs8", "traditional"],
)
@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.RSA_2048], ids=lambda t: t.value)
def test_der_load(key_type: KeyType, private_format: serialization.PrivateFormat) -> None:
    key = generate_key(key_type)
    der = key.private_bytes(
        serialization.Encoding.DER, private_format, serialization.NoEncryption()
    )
    assert public_key_fingerprint(load_private_key(der)) == public_key_fingerprint(key)
    with pytest.raises(KeyFileError, match="PKCS#8, PKCS#1 or SEC1"):
        load_private_key(der[:-3])


def test_encrypted_der_load(ec_key: PrivateKey) -> None:
    der = ec_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    assert public_key_fingerprint(load_private_key(der, PASSPHRASE)) == public_key_fingerprint(
        ec_key
    )
    with pytest.raises(PassphraseError):
        load_private_key(der, b"wrong")


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_garbage_is_key_file_error(data: bytes) -> None:
    with pytest.raises(KeyFileError, match="expected a PKCS#8, PKCS#1 or SEC1 private key"):
        load_private_key(data)


def test_unsupported_key_types_refused() -> None:
    for key in (dsa.generate_private_key(key_size=1024), x25519.X25519PrivateKey.generate()):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(KeyFileError, match="keys are not supported"):
            load_private_key(pem)


def test_fingerprint_is_sha256_of_spki(ec_key: PrivateKey) -> None:
    spki = ec_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    assert public_key_fingerprint(ec_key) == digest.finalize().hex()
    assert public_key_fingerprint(ec_key) != public_key_fingerprint(generate_key())


# --- interop with OpenSSL --------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("key_type", [KeyType.EC_P384, KeyType.RSA_2048, KeyType.ED25519])
def test_openssl_reads_encrypted_key(tmp_path: Path, key_type: KeyType) -> None:
    key = generate_key(key_type)
    path = save_private_key(key, tmp_path / "key.pem", PASSPHRASE)
    passin = "pass:" + PASSPHRASE.decode()
    result = _openssl("pkey", "-in", str(path), "-passin", passin, "-pubout", "-outform", "DER")
    assert result.returncode == 0, result.stderr.decode()
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert result.stdout == spki
    # The negative twin: OpenSSL refuses the wrong passphrase, so the key really is encrypted.
    wrong = _openssl("pkey", "-in", str(path), "-passin", "pass:wrong", "-noout")
    assert wrong.returncode != 0


@pytest.mark.interop
@pytest.mark.parametrize(
    "genpkey_args",
    [
        ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ["-algorithm", "ED25519"],
    ],
    ids=["ec", "rsa", "ed25519"],
)
@pytest.mark.parametrize("encrypted", [True, False], ids=["aes256", "plain"])
def test_loads_key_made_by_openssl_genpkey(
    tmp_path: Path, genpkey_args: list[str], encrypted: bool
) -> None:
    path = tmp_path / "openssl.pem"
    args = ["genpkey", *genpkey_args, "-out", str(path)]
    if encrypted:
        args += ["-aes256", "-pass", "pass:" + PASSPHRASE.decode()]
    result = _openssl(*args)
    assert result.returncode == 0, result.stderr.decode()
    key = load_private_key_file(path, PASSPHRASE if encrypted else None)
    pub = _openssl(
        "pkey",
        "-in",
        str(path),
        "-passin",
        "pass:" + PASSPHRASE.decode(),
        "-pubout",
        "-outform",
        "DER",
    )
    assert public_key_fingerprint(key) == _sha256_hex(pub.stdout)
    if encrypted:
        with pytest.raises(PassphraseError):
            load_private_key_file(path, b"wrong")
        with pytest.raises(PassphraseError):
            load_private_key_file(path)


@pytest.mark.interop
def test_loads_traditional_encrypted_rsa_from_openssl(tmp_path: Path) -> None:
    path = tmp_path / "rsa.pem"
    result = _openssl(
        "genrsa",
        "-traditional",
        "-aes256",
        "-passout",
        "pass:" + PASSPHRASE.decode(),
        "-out",
        str(path),
        "2048",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Proc-Type: 4,ENCRYPTED" in path.read_bytes()
    assert isinstance(load_private_key_file(path, PASSPHRASE), rsa.RSAPrivateKey)
    with pytest.raises(PassphraseError):
        load_private_key_file(path, b"wrong")


@pytest.mark.interop
def test_loads_sec1_with_parameters_block_from_openssl_ecparam(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    result = _openssl("ecparam", "-name", "secp384r1", "-genkey", "-out", str(path))
    assert result.returncode == 0, result.stderr.decode()
    assert path.read_bytes().startswith(b"-----BEGIN EC PARAMETERS-----")
    key = load_private_key_file(path)
    assert key_type_of(key) is KeyType.EC_P384
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert not isinstance(key, ed25519.Ed25519PrivateKey)


# --- named curves only (RFC 5480 2.1.1) ------------------------------------------------


def _pbes2_pem(plaintext: bytes, passphrase: bytes) -> bytes:
    """``plaintext`` (a PrivateKeyInfo) encrypted as serialize_private_key does."""
    salt, iv = os.urandom(16), os.urandom(16)
    secret = PBKDF2HMAC(hashes.SHA256(), 32, salt, MIN_PBKDF2_ITERATIONS).derive(passphrase)
    padder = sym_padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plaintext) + padder.finalize())
    der = encode_pbes2_private_key_info(
        salt=salt,
        iterations=MIN_PBKDF2_ITERATIONS,
        iv=iv,
        ciphertext=ciphertext + encryptor.finalize(),
    )
    return pem_encode("ENCRYPTED PRIVATE KEY", der)


def _named_and_explicit(key: ec.EllipticCurvePrivateKey, form: str) -> tuple[bytes, bytes]:
    """The same key as ``form``, its curve named (as cryptography writes) and explicit."""
    pkcs8 = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    if form == "pkcs8-der":
        return key.private_bytes(serialization.Encoding.DER, pkcs8, plain), explicit_pkcs8(key)
    if form == "pkcs8-pem":
        named = key.private_bytes(serialization.Encoding.PEM, pkcs8, plain)
        return named, pem_encode("PRIVATE KEY", explicit_pkcs8(key))
    if form == "sec1-pem":
        traditional = serialization.PrivateFormat.TraditionalOpenSSL
        named = key.private_bytes(serialization.Encoding.PEM, traditional, plain)
        return named, pem_encode("EC PRIVATE KEY", explicit_sec1(key))
    assert form == "pbes2"
    named_der = key.private_bytes(serialization.Encoding.DER, pkcs8, plain)
    return _pbes2_pem(named_der, PASSPHRASE), _pbes2_pem(explicit_pkcs8(key), PASSPHRASE)


@pytest.mark.parametrize("form", ["pkcs8-der", "pkcs8-pem", "sec1-pem", "pbes2"])
def test_explicit_curve_key_is_refused(form: str) -> None:
    """cryptography reads explicit P-256 parameters as secp256r1; trustkit refuses them."""
    key = ec.generate_private_key(ec.SECP256R1())
    named, explicit = _named_and_explicit(key, form)
    assert serialization.load_der_private_key(explicit_pkcs8(key), None).curve.name == (
        "secp256r1"
    )  # what cryptography alone would accept
    loaded = load_private_key(named, PASSPHRASE)  # the twin: the same key, its curve named
    assert public_key_fingerprint(loaded) == public_key_fingerprint(key)
    with pytest.raises(KeyFileError, match=r"specifiedCurve, not a namedCurve \(RFC 5480 2\.1\.1"):
        load_private_key(explicit, PASSPHRASE, what="key.pem")
    if form == "pbes2":
        with pytest.raises(PassphraseError, match="wrong passphrase"):
            load_private_key(explicit, b"not the passphrase")


def test_pbes2_key_opened_with_one_kdf_run(ec_key: PrivateKey) -> None:
    """trustkit's own encrypted keys, and OpenSSL's, go through the PBES2 decryption here."""
    data = serialize_private_key(ec_key, PASSPHRASE, kdf_iterations=MIN_PBKDF2_ITERATIONS)
    assert public_key_fingerprint(load_private_key(data, PASSPHRASE)) == (
        public_key_fingerprint(ec_key)
    )
    with pytest.raises(PassphraseError):
        load_private_key(data, b"wrong")


def _openssl_ec(tmp_path: Path, name: str, *args: str, source: Path | None = None) -> Path:
    path = tmp_path / name
    if source is None:
        command = ["ecparam", "-name", "prime256v1", "-genkey", *args, "-out", str(path)]
    else:
        command = [*args, "-in", str(source), "-out", str(path)]
    result = _openssl(*command)
    assert result.returncode == 0, result.stderr.decode()
    return path


@pytest.mark.interop
@pytest.mark.parametrize(
    "encryption",
    [
        (),
        ("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:" + PASSPHRASE.decode()),
        ("ec", "-aes256", "-passout", "pass:" + PASSPHRASE.decode()),
    ],
    ids=["plain", "pkcs8-pbes2", "traditional-aes"],
)
def test_openssl_explicit_parameters_refused(tmp_path: Path, encryption: tuple[str, ...]) -> None:
    """`openssl ecparam -param_enc explicit` keys, plain and encrypted, against their twins."""
    for param_enc, refused in (("named_curve", False), ("explicit", True)):
        path = _openssl_ec(tmp_path, f"{param_enc}.pem", "-noout", "-param_enc", param_enc)
        if encryption:
            path = _openssl_ec(tmp_path, f"{param_enc}-enc.pem", *encryption, source=path)
        if refused:
            with pytest.raises(KeyFileError, match="specifiedCurve"):
                load_private_key_file(path, PASSPHRASE)
        else:
            assert key_type_of(load_private_key_file(path, PASSPHRASE)) is KeyType.EC_P256


@pytest.mark.interop
def test_explicit_parameters_block_refused(tmp_path: Path) -> None:
    """`openssl ecparam -genkey` without -noout writes an EC PARAMETERS block first."""
    path = _openssl_ec(tmp_path, "params.pem", "-param_enc", "explicit")
    assert path.read_bytes().startswith(b"-----BEGIN EC PARAMETERS-----")
    with pytest.raises(KeyFileError, match="specifiedCurve"):
        load_private_key_file(path)


@pytest.mark.interop
def test_ec_key_under_an_unopened_encryption_is_refused(tmp_path: Path) -> None:
    """Triple-DES PEM: cryptography decrypts it, trustkit cannot see the curve, so refuses;
    an RSA key under the same encryption has no curve and loads."""
    named = _openssl_ec(tmp_path, "named.pem", "-noout")
    des = ("ec", "-des3", "-passout", "pass:" + PASSPHRASE.decode())
    path = _openssl_ec(tmp_path, "des.pem", *des, source=named)
    with pytest.raises(KeyFileError, match="cannot be checked"):
        load_private_key_file(path, PASSPHRASE)
    rsa_path = tmp_path / "rsa.pem"
    result = _openssl(
        "genrsa",
        "-traditional",
        "-des3",
        "-passout",
        "pass:" + PASSPHRASE.decode(),
        "-out",
        str(rsa_path),
        "2048",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert isinstance(load_private_key_file(rsa_path, PASSPHRASE), rsa.RSAPrivateKey)


def _sha256_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize().hex()


# --- fuzz ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), passphrase=st.one_of(st.none(), st.binary(max_size=8)))
def test_fuzz_load_private_key_raises_only_trustkit_errors(
    data: bytes, passphrase: bytes | None
) -> None:
    try:
        load_private_key(data, passphrase)
    except TrustkitError:
        pass


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_fuzz_mutated_key_raises_only_trustkit_errors(position: int, flip: int) -> None:
    der = _FUZZ_KEY_DER
    index = position % len(der)
    mutated = der[:index] + bytes([der[index] ^ flip]) + der[index + 1 :]
    try:
        load_private_key(mutated, PASSPHRASE)
    except TrustkitError:
        pass


_FUZZ_KEY_DER = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.DER,
    serialization.PrivateFormat.PKCS8,
    serialization.BestAvailableEncryption(PASSPHRASE),
)
