"""trustkit.pkcs11: RFC 7512 URIs, and CA keys on a real SoftHSM2 token.

Signatures made on the token are checked by independent code: ``openssl
verify`` and ``openssl crl -verify`` for certificates and CRLs, and
cryptography's public-key ``verify`` for raw signatures.
"""

from __future__ import annotations

import multiprocessing
import secrets
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import TEST_TIME, require
from tests.hsm_token import SO_PIN, USER_PIN, HSMToken, SoftHSM
from trustkit.errors import HSMError, InputError
from trustkit.keys import KeyType, generate_key, signature_hash_for
from trustkit.pkcs11 import (
    ENV_MODULE,
    ENV_PIN,
    PKCS11URI,
    ObjectType,
    PKCS11ECPrivateKey,
    PKCS11PrivateKey,
    PKCS11RSAPrivateKey,
    generate_key_on_token,
    is_pkcs11_uri,
    load_token_key,
    open_token,
    parse_pkcs11_uri,
    resolve_module_path,
    resolve_pin,
)

SIGNING_TYPES = [KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048]


# ---------------------------------------------------------------------------
# URIs
# ---------------------------------------------------------------------------


def test_parse_uri_with_every_common_attribute() -> None:
    uri = parse_pkcs11_uri(
        "pkcs11:token=national-root;object=root%202026;id=%01%ab;type=private"
        "?module-path=/usr/lib/softhsm/libsofthsm2.so"
    )
    assert uri == PKCS11URI(
        token="national-root",
        object="root 2026",
        id=b"\x01\xab",
        type=ObjectType.PRIVATE,
        module_path="/usr/lib/softhsm/libsofthsm2.so",
    )


def test_uri_prints_canonically_and_parses_back() -> None:
    text = "pkcs11:object=a%3Bb;token=t%20x;slot-id=3;id=%00%FF?module-name=softhsm2&x-v=1"
    uri = parse_pkcs11_uri(text)
    assert (
        str(uri) == "pkcs11:token=t%20x;object=a%3Bb;id=%00%FF;slot-id=3?module-name=softhsm2&x-v=1"
    )
    assert parse_pkcs11_uri(str(uri)) == uri


def test_uri_example_from_rfc_7512() -> None:
    # RFC 7512 section 3, fourth example.
    uri = parse_pkcs11_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
        "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;"
        "type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial="
        "?pin-source=file:/etc/token_pin"
    )
    assert uri.token == "The Software PKCS#11 Softtoken"
    assert uri.manufacturer == "Snake Oil, Inc."
    assert uri.type is ObjectType.CERT
    assert uri.id == bytes.fromhex("69953e5cf4bdec91")
    assert uri.serial == ""
    assert uri.pin_source == "file:/etc/token_pin"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("token=x", "pkcs11:"),
        ("pkcs11:token=a;token=b", "token"),
        ("pkcs11:colour=blue", "colour"),
        ("pkcs11:token=a b", "token"),
        ("pkcs11:object=%4", "object"),
        ("pkcs11:object=%zz", "object"),
        ("pkcs11:type=secret", "type"),
        ("pkcs11:slot-id=one", "slot-id"),
        ("pkcs11:library-version=1.x", "library-version"),
        ("pkcs11:token=a?module-path=lib/softhsm2.so", "module-path"),
        ("pkcs11:module-path=/lib/p11.so", "module-path"),
        ("pkcs11:token=a?object=b", "object"),
        ("pkcs11:token", "token"),
        ("pkcs11:token=%FF", "token"),
        ("pkcs11:x-=1", "x-"),
        ("pkcs11:token=a?pin-value=1234", "pin-value"),
    ],
)
def test_bad_uri_is_input_error_naming_the_attribute(text: str, named: str) -> None:
    with pytest.raises(InputError, match=named):
        parse_pkcs11_uri(text)


def test_pin_value_only_when_allowed() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=a?pin-value=12%2634", allow_pin_value=True)
    assert uri.pin_value == "12&34"
    assert "12" not in str(uri) and "12" not in repr(uri)
    with pytest.raises(InputError, match="pin-value"):
        parse_pkcs11_uri("pkcs11:token=a?pin-value=12%2634")


def test_is_pkcs11_uri() -> None:
    assert is_pkcs11_uri("PKCS11:token=a")
    assert not is_pkcs11_uri("ca.key")


@given(st.text(max_size=80))
def test_fuzz_garbage_uri_is_input_error_or_parses(tail: str) -> None:
    try:
        uri = parse_pkcs11_uri("pkcs11:" + tail)
    except InputError:
        return
    assert parse_pkcs11_uri(str(uri)) == uri


@given(
    st.builds(
        PKCS11URI,
        token=st.none() | st.text(max_size=20),
        object=st.none() | st.text(max_size=20),
        id=st.none() | st.binary(max_size=20),
        type=st.none() | st.sampled_from(ObjectType),
        slot_id=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
        module_path=st.none() | st.text(max_size=20).map(lambda text: "/" + text.replace("\0", "")),
    )
)
def test_fuzz_every_uri_round_trips(uri: PKCS11URI) -> None:
    assert parse_pkcs11_uri(str(uri)) == uri


# ---------------------------------------------------------------------------
# Module path and PIN
# ---------------------------------------------------------------------------


def test_module_path_from_argument_uri_then_environment(tmp_path: Path) -> None:
    library = tmp_path / "p11.so"
    library.write_bytes(b"")
    other = tmp_path / "other.so"
    other.write_bytes(b"")
    uri = PKCS11URI(module_path=str(other))
    env = {ENV_MODULE: str(other)}
    assert resolve_module_path(library, uri=uri, environ=env) == str(library)
    assert resolve_module_path(None, uri=uri, environ={}) == str(other)
    assert resolve_module_path(None, uri=PKCS11URI(), environ=env) == str(other)


def test_module_path_missing_or_absent_is_hsm_error(tmp_path: Path) -> None:
    with pytest.raises(HSMError, match="module-path: no PKCS#11 module"):
        resolve_module_path(None, uri=PKCS11URI(), environ={})
    with pytest.raises(HSMError, match="does not exist"):
        resolve_module_path(tmp_path / "nowhere.so", environ={})


def test_pin_from_argument_file_uri_environment_prompt(tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("from-file\nignored\n")
    env = {ENV_PIN: "from-env"}
    assert resolve_pin("given", pin_file=pin_file, environ=env) == "given"
    assert resolve_pin(pin_file=pin_file, environ=env) == "from-file"
    uri = PKCS11URI(token="t", pin_value="from-uri")
    assert resolve_pin(uri=uri, environ=env) == "from-uri"
    assert resolve_pin(environ=env) == "from-env"
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return "typed"

    assert resolve_pin(uri=PKCS11URI(token="t"), environ={}, prompt=prompt) == "typed"
    assert asked == ["PKCS#11 user PIN for token 't'"]


def test_pin_missing_or_unreadable_is_hsm_error(tmp_path: Path) -> None:
    with pytest.raises(HSMError, match="pin: no PIN"):
        resolve_pin(environ={})
    with pytest.raises(HSMError, match="pin-file"):
        resolve_pin(pin_file=tmp_path / "missing", environ={})
    (tmp_path / "empty").write_text("")
    with pytest.raises(HSMError, match="empty"):
        resolve_pin(pin_file=tmp_path / "empty", environ={})


# ---------------------------------------------------------------------------
# Keys on SoftHSM2
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_token(softhsm: SoftHSM) -> HSMToken:
    """One token for the tests that only sign, holding one key per signing type.

    Its label is new each time: under pytest-xdist a worker may set a module's
    fixtures up more than once (its tests interleaved with other modules'), in
    the same SoftHSM2 token directory.
    """
    token = HSMToken(softhsm, f"shared-signing-token-{secrets.token_hex(4)}")
    softhsm.create_token(token.label)
    return token


@pytest.fixture(scope="module")
def token_keys(shared_token: HSMToken) -> dict[KeyType, PKCS11PrivateKey]:
    return {
        key_type: generate_key_on_token(
            shared_token.uri(f"key-{key_type.value}"),
            key_type,
            pin=shared_token.pin,
            module=shared_token.module,
        )
        for key_type in SIGNING_TYPES
    }


def _attributes(key: PKCS11PrivateKey, names: list[str]) -> dict[str, Any]:
    import pkcs11

    def read(session: Any) -> dict[str, Any]:
        attributes = [getattr(pkcs11.Attribute, name) for name in names]
        found = list(
            session.get_objects(
                {
                    pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
                    pkcs11.Attribute.ID: key.uri.id,
                }
            )
        )
        assert len(found) == 1
        values = found[0].get_attributes(attributes)
        return {name: values[attribute] for name, attribute in zip(names, attributes, strict=True)}

    return key.token.run(read)


@pytest.mark.parametrize("key_type", SIGNING_TYPES, ids=lambda key_type: key_type.value)
def test_generated_key_is_on_the_token_and_not_extractable(
    hsm_token: HSMToken, key_type: KeyType
) -> None:
    key = generate_key_on_token(
        hsm_token.uri("ca-key"), key_type, pin=hsm_token.pin, module=hsm_token.module
    )
    expected_class = PKCS11RSAPrivateKey if key_type.rsa_bits else PKCS11ECPrivateKey
    assert isinstance(key, expected_class)
    assert key.uri.token == hsm_token.label and key.uri.object == "ca-key"
    assert key.uri.id == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    attributes = _attributes(key, ["EXTRACTABLE", "SENSITIVE", "TOKEN", "SIGN", "DECRYPT"])
    assert attributes == {
        "EXTRACTABLE": False,
        "SENSITIVE": True,
        "TOKEN": True,
        "SIGN": True,
        "DECRYPT": False,
    }
    with pytest.raises(HSMError, match="cannot be extracted"):
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    with pytest.raises(HSMError, match="cannot be extracted"):
        key.private_numbers()


def test_extractable_attribute_check_can_fail(hsm_token: HSMToken) -> None:
    # The twin of the test above: a key made extractable shows it.
    import pkcs11

    token = open_token(hsm_token.uri(), pin=hsm_token.pin, module=hsm_token.module)

    def make(session: Any) -> None:
        session.generate_keypair(
            pkcs11.KeyType.EC,
            label="loose",
            id=b"\x42",
            store=True,
            public_template={
                pkcs11.Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters(
                    "secp256r1"
                )
            },
            private_template={
                pkcs11.Attribute.EXTRACTABLE: True,
                pkcs11.Attribute.SENSITIVE: False,
            },
        )

    token.run(make)
    key = load_token_key(
        f"{hsm_token.uri('loose')};id=%42", pin=hsm_token.pin, module=hsm_token.module
    )
    assert _attributes(key, ["EXTRACTABLE"]) == {"EXTRACTABLE": True}


def test_existing_key_loads_by_label_and_by_id(
    shared_token: HSMToken, token_keys: dict[KeyType, PKCS11PrivateKey]
) -> None:
    generated = token_keys[KeyType.EC_P384]
    by_label = load_token_key(
        shared_token.uri("key-ec-p384"), pin=shared_token.pin, module=shared_token.module
    )
    assert generated.uri.id is not None
    id_text = "".join(f"%{octet:02x}" for octet in generated.uri.id)
    by_id = load_token_key(
        f"pkcs11:token={shared_token.label};id={id_text};type=private",
        pin=shared_token.pin,
        module=shared_token.module,
    )
    public = generated.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for loaded in (by_label, by_id):
        assert (
            loaded.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            == public
        )
        assert loaded.uri == generated.uri


def test_generation_refuses_to_overwrite(
    shared_token: HSMToken, token_keys: dict[KeyType, PKCS11PrivateKey]
) -> None:
    existing = token_keys[KeyType.EC_P256]
    with pytest.raises(HSMError, match="object=key-ec-p256: an object with this label exists"):
        generate_key_on_token(
            shared_token.uri("key-ec-p256"),
            KeyType.EC_P256,
            pin=shared_token.pin,
            module=shared_token.module,
        )
    assert existing.uri.id is not None
    id_text = "".join(f"%{octet:02X}" for octet in existing.uri.id)
    with pytest.raises(HSMError, match="an object with this id exists"):
        generate_key_on_token(
            f"{shared_token.uri('another-label')};id={id_text}",
            KeyType.EC_P256,
            pin=shared_token.pin,
            module=shared_token.module,
        )


def test_ed25519_and_non_private_types_are_refused(shared_token: HSMToken) -> None:
    with pytest.raises(HSMError, match="ed25519"):
        generate_key_on_token(shared_token.uri("ed"), KeyType.ED25519, pin=shared_token.pin)
    with pytest.raises(InputError, match="type"):
        load_token_key(f"{shared_token.uri('key-ec-p256')};type=cert", pin=shared_token.pin)
    with pytest.raises(InputError, match="object"):
        load_token_key(shared_token.uri(), pin=shared_token.pin)


# --- errors: wrong PIN, missing token, object or module ----------------------


def test_wrong_pin_is_hsm_error(hsm_token: HSMToken) -> None:
    with pytest.raises(HSMError, match="wrong PIN"):
        open_token(hsm_token.uri(), pin="not-the-pin", module=hsm_token.module)
    token = open_token(hsm_token.uri(), pin=hsm_token.pin, module=hsm_token.module)
    assert token.label == hsm_token.label
    # Once the process is logged in, a different PIN is still refused.
    with pytest.raises(HSMError, match="wrong PIN"):
        open_token(hsm_token.uri(), pin="not-the-pin", module=hsm_token.module)


def test_missing_token_is_hsm_error(softhsm: SoftHSM, shared_token: HSMToken) -> None:
    with pytest.raises(HSMError, match="token=no-such-token: no such token"):
        open_token("pkcs11:token=no-such-token", pin=USER_PIN, module=softhsm.module)
    assert open_token(shared_token.uri(), pin=USER_PIN, module=softhsm.module).label == (
        shared_token.label
    )


def test_missing_object_is_hsm_error(
    shared_token: HSMToken, token_keys: dict[KeyType, PKCS11PrivateKey]
) -> None:
    with pytest.raises(HSMError, match="object=not-there: no private key"):
        load_token_key(shared_token.uri("not-there"), pin=USER_PIN, module=shared_token.module)
    assert load_token_key(
        shared_token.uri("key-rsa-2048"), pin=USER_PIN, module=shared_token.module
    ).uri == (token_keys[KeyType.RSA_2048].uri)


def test_missing_module_is_hsm_error(tmp_path: Path) -> None:
    not_a_library = tmp_path / "libnothing.so"
    not_a_library.write_bytes(b"not an ELF file")
    with pytest.raises(HSMError, match="module-path: cannot load"):
        open_token("pkcs11:token=a", pin="1", module=not_a_library)
    with pytest.raises(HSMError, match="module-path"):
        open_token("pkcs11:token=a", pin="1", module=tmp_path / "absent.so")


def test_pin_and_module_from_environment(
    shared_token: HSMToken,
    token_keys: dict[KeyType, PKCS11PrivateKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_MODULE, shared_token.module)
    monkeypatch.setenv(ENV_PIN, shared_token.pin)
    key = load_token_key(shared_token.uri("key-ec-p256"))
    assert key.uri == token_keys[KeyType.EC_P256].uri
    monkeypatch.delenv(ENV_PIN)
    with pytest.raises(HSMError, match="pin: no PIN"):
        load_token_key(shared_token.uri("key-ec-p256"))


# --- raw signatures ------------------------------------------------------------

MESSAGE = b"an e-government document to sign"


@pytest.mark.parametrize("hash_algorithm", [hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.EC_P384])
def test_ecdsa_signature_verifies(
    token_keys: dict[KeyType, PKCS11PrivateKey],
    key_type: KeyType,
    hash_algorithm: hashes.HashAlgorithm,
) -> None:
    key = token_keys[key_type]
    assert isinstance(key, PKCS11ECPrivateKey)
    public = key.public_key()
    signature = key.sign(MESSAGE, ec.ECDSA(hash_algorithm))
    public.verify(signature, MESSAGE, ec.ECDSA(hash_algorithm))
    digest = hashes.Hash(hash_algorithm)
    digest.update(MESSAGE)
    prehashed = key.sign(digest.finalize(), ec.ECDSA(Prehashed(hash_algorithm)))
    public.verify(prehashed, MESSAGE, ec.ECDSA(hash_algorithm))
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE + b"!", ec.ECDSA(hash_algorithm))


RSA_PADDINGS: dict[str, Callable[[hashes.HashAlgorithm], padding.AsymmetricPadding]] = {
    "pkcs1v15": lambda _: padding.PKCS1v15(),
    "pss-digest-length": lambda h: padding.PSS(padding.MGF1(h), padding.PSS.DIGEST_LENGTH),
    "pss-max-length": lambda h: padding.PSS(padding.MGF1(h), padding.PSS.MAX_LENGTH),
    "pss-salt-0": lambda h: padding.PSS(padding.MGF1(h), 0),
}


@pytest.mark.parametrize("hash_algorithm", [hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
@pytest.mark.parametrize("padding_name", sorted(RSA_PADDINGS))
def test_rsa_signature_verifies(
    token_keys: dict[KeyType, PKCS11PrivateKey],
    padding_name: str,
    hash_algorithm: hashes.HashAlgorithm,
) -> None:
    key = token_keys[KeyType.RSA_2048]
    assert isinstance(key, PKCS11RSAPrivateKey)
    public = key.public_key()
    assert public.key_size == key.key_size == 2048
    pad = RSA_PADDINGS[padding_name](hash_algorithm)
    signature = key.sign(MESSAGE, pad, hash_algorithm)
    public.verify(signature, MESSAGE, pad, hash_algorithm)
    digest = hashes.Hash(hash_algorithm)
    digest.update(MESSAGE)
    prehashed = key.sign(digest.finalize(), pad, Prehashed(hash_algorithm))
    public.verify(prehashed, MESSAGE, pad, hash_algorithm)
    with pytest.raises(InvalidSignature):
        public.verify(signature, MESSAGE + b"!", pad, hash_algorithm)
    with pytest.raises(InvalidSignature):
        tampered = bytes([signature[0] ^ 1]) + signature[1:]
        public.verify(tampered, MESSAGE, pad, hash_algorithm)


def test_rsa_pss_auto_salt_and_wrong_prehash_length_are_refused(
    token_keys: dict[KeyType, PKCS11PrivateKey],
) -> None:
    key = token_keys[KeyType.RSA_2048]
    assert isinstance(key, PKCS11RSAPrivateKey)
    with pytest.raises(ValueError, match="AUTO"):
        key.sign(
            MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO), hashes.SHA256()
        )
    with pytest.raises(ValueError, match="prehashed"):
        key.sign(b"short", padding.PKCS1v15(), Prehashed(hashes.SHA256()))


# --- certificates, CRLs, OCSP through cryptography's builders ------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example State"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _root_certificate(
    key: Any, name: str, pad: padding.PSS | padding.PKCS1v15 | None = None
) -> x509.Certificate:
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(TEST_TIME - timedelta(days=1))
        .not_valid_after(TEST_TIME + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, signature_hash_for(key), rsa_padding=pad)


def _leaf_certificate(
    issuer_key: Any, issuer: x509.Certificate, pad: padding.PSS | padding.PKCS1v15 | None = None
) -> x509.Certificate:
    leaf_key = generate_key(KeyType.EC_P256)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("www.example.gov"))
        .issuer_name(issuer.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(TEST_TIME - timedelta(hours=1))
        .not_valid_after(TEST_TIME + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("www.example.gov")]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, signature_hash_for(issuer_key), rsa_padding=pad)
    )


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("openssl") is None:
        require("openssl")
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)


def _write(path: Path, *objects: x509.Certificate | x509.CertificateRevocationList) -> Path:
    path.write_bytes(b"".join(item.public_bytes(serialization.Encoding.PEM) for item in objects))
    return path


ATTIME = str(int(TEST_TIME.timestamp()))

CHAIN_CASES: dict[str, tuple[KeyType, padding.PSS | None]] = {
    "ec-p256": (KeyType.EC_P256, None),
    "ec-p384": (KeyType.EC_P384, None),
    "rsa-2048-pkcs1v15": (KeyType.RSA_2048, None),
    "rsa-2048-pss": (
        KeyType.RSA_2048,
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
    ),
}


@pytest.mark.interop
@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_certificates_signed_on_token_pass_openssl_verify(
    token_keys: dict[KeyType, PKCS11PrivateKey], tmp_path: Path, case: str
) -> None:
    key_type, pad = CHAIN_CASES[case]
    key = token_keys[key_type]
    root = _root_certificate(key, f"Token Root {case}", pad)
    leaf = _leaf_certificate(key, root, pad)
    root_file = _write(tmp_path / "root.pem", root)
    leaf_file = _write(tmp_path / "leaf.pem", leaf)
    result = _openssl("verify", "-attime", ATTIME, "-CAfile", root_file, leaf_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{leaf_file}: OK"
    # Negative twins: another root of the same name, and a tampered signature.
    impostor = _write(
        tmp_path / "impostor.pem", _root_certificate(generate_key(key_type), f"Token Root {case}")
    )
    result = _openssl("verify", "-attime", ATTIME, "-CAfile", impostor, leaf_file)
    assert result.returncode != 0
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01
    tampered = _write(tmp_path / "tampered.pem", x509.load_der_x509_certificate(bytes(der)))
    result = _openssl("verify", "-attime", ATTIME, "-CAfile", root_file, tampered)
    assert result.returncode != 0


@pytest.mark.interop
@pytest.mark.parametrize("key_type", SIGNING_TYPES, ids=lambda key_type: key_type.value)
def test_crl_signed_on_token_passes_openssl_crl_verify(
    token_keys: dict[KeyType, PKCS11PrivateKey], tmp_path: Path, key_type: KeyType
) -> None:
    key = token_keys[key_type]
    root = _root_certificate(key, f"CRL Root {key_type.value}")
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(TEST_TIME)
        .next_update(TEST_TIME + timedelta(days=7))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(0x1234)
            .revocation_date(TEST_TIME - timedelta(hours=2))
            .build()
        )
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(key, signature_hash_for(key))
    )
    root_file = _write(tmp_path / "root.pem", root)
    crl_file = _write(tmp_path / "root.crl", crl)
    result = _openssl("crl", "-in", crl_file, "-noout", "-verify", "-CAfile", root_file)
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stderr + result.stdout
    impostor = _write(
        tmp_path / "impostor.pem",
        _root_certificate(generate_key(key_type), f"CRL Root {key_type.value}"),
    )
    result = _openssl("crl", "-in", crl_file, "-noout", "-verify", "-CAfile", impostor)
    assert "verify OK" not in result.stderr + result.stdout


@pytest.mark.parametrize("key_type", SIGNING_TYPES, ids=lambda key_type: key_type.value)
def test_ocsp_response_and_csr_signed_on_token_verify(
    token_keys: dict[KeyType, PKCS11PrivateKey], key_type: KeyType
) -> None:
    key = token_keys[key_type]
    root = _root_certificate(key, f"OCSP Root {key_type.value}")
    leaf = _leaf_certificate(key, root)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=root,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=TEST_TIME,
            next_update=TEST_TIME + timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, root)
        .sign(key, signature_hash_for(key))
    )
    hash_algorithm = response.signature_hash_algorithm
    assert hash_algorithm is not None
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(
            response.signature, response.tbs_response_bytes, padding.PKCS1v15(), hash_algorithm
        )
        with pytest.raises(InvalidSignature):
            public.verify(
                response.signature,
                response.tbs_response_bytes + b"\0",
                padding.PKCS1v15(),
                hash_algorithm,
            )
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hash_algorithm))
        with pytest.raises(InvalidSignature):
            public.verify(
                response.signature, response.tbs_response_bytes + b"\0", ec.ECDSA(hash_algorithm)
            )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("Issuing CA"))
        .sign(key, signature_hash_for(key))
    )
    assert csr.is_signature_valid


# --- sessions: threads, lost sessions, fork -------------------------------------


def test_concurrent_signing_from_threads(token_keys: dict[KeyType, PKCS11PrivateKey]) -> None:
    jobs = [(key_type, n) for n in range(12) for key_type in SIGNING_TYPES]

    def sign(job: tuple[KeyType, int]) -> tuple[KeyType, bytes, bytes]:
        key_type, n = job
        data = MESSAGE + n.to_bytes(2, "big")
        key = token_keys[key_type]
        if isinstance(key, PKCS11RSAPrivateKey):
            return key_type, data, key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key_type, data, key.sign(data, ec.ECDSA(hashes.SHA256()))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(sign, jobs))
    assert len(results) == len(jobs)
    for key_type, data, signature in results:
        public = token_keys[key_type].public_key()
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey)
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_session_closed_under_the_pool_is_reopened(hsm_token: HSMToken) -> None:
    key = generate_key_on_token(
        hsm_token.uri("reopen"), KeyType.EC_P256, pin=hsm_token.pin, module=hsm_token.module
    )
    assert isinstance(key, PKCS11ECPrivateKey)
    key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    closed: list[object] = []

    def close(session: Any) -> None:
        closed.append(session)
        session.close()  # the pool still holds this session, now invalid

    key.token.run(close)
    signature = key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    key.public_key().verify(signature, MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert closed and key.token.run(lambda session: session) is not closed[0]
    # The twin: a token closed on purpose does not come back by itself.
    key.token.close()
    with pytest.raises(HSMError, match="closed"):
        key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))


def _sign_sha256(key: PKCS11PrivateKey) -> bytes:
    if isinstance(key, PKCS11RSAPrivateKey):
        return key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))


def _sign_in_child(key: PKCS11PrivateKey, connection: Any) -> None:
    try:
        connection.send(_sign_sha256(key))
    except BaseException as exc:  # report any failure to the parent
        connection.send(repr(exc))
    finally:
        connection.close()


@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.RSA_2048], ids=lambda k: k.value)
def test_key_loaded_before_fork_signs_in_the_child(
    token_keys: dict[KeyType, PKCS11PrivateKey], key_type: KeyType
) -> None:
    key = token_keys[key_type]
    _sign_sha256(key)  # the parent has a session in its pool before the fork
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_sign_in_child, args=(key, sender))
    child.start()
    sender.close()
    result = receiver.recv()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert isinstance(result, bytes), result
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(result, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(InvalidSignature):
            public.verify(result, MESSAGE + b"!", padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(result, MESSAGE, ec.ECDSA(hashes.SHA256()))
        with pytest.raises(InvalidSignature):
            public.verify(result, MESSAGE + b"!", ec.ECDSA(hashes.SHA256()))
    # The parent's sessions still work after the child re-initialised its copy.
    test_concurrent_signing_from_threads(token_keys)


def test_key_is_a_cryptography_key(token_keys: dict[KeyType, PKCS11PrivateKey]) -> None:
    assert isinstance(token_keys[KeyType.EC_P256], ec.EllipticCurvePrivateKey)
    assert isinstance(token_keys[KeyType.RSA_2048], rsa.RSAPrivateKey)
    assert "pkcs11:token=shared-signing-token-" in repr(token_keys[KeyType.EC_P256])
    assert SO_PIN not in repr(token_keys[KeyType.EC_P256].token)
