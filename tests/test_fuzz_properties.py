"""Hypothesis properties for the parsers of untrusted input not fuzzed elsewhere.

Certificates, CSRs, OCSP requests and responses, CMS signatures and timestamp
requests have their properties beside their modules' tests (tests/test_csr.py,
tests/validation/test_fuzz.py, tests/revocation/test_ocsp.py, tests/cms/,
tests/test_tsa.py). Here: PEM bundles, CRLs through ``encoding.load_crl``,
timestamp replies and tokens, TOML specs and CA configurations, and
``inspect_bytes``. The property is always the same: a result, or a
:class:`~trustkit.errors.TrustkitError`; nothing else, and quickly.

The seeds of tests/fuzz/corpus/ are the starting points; the world they fit is
tests/fuzz/_world.py. The long, coverage-guided runs are in docs/fuzzing.md.
"""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz._world import AT, TSA_DIGEST, TSA_NONCE, seeded, world
from trustkit.config import CAConfig
from trustkit.encoding import PemBlock, load_certificates, load_crl, pem_encode, read_blocks
from trustkit.errors import ConfigError, TimestampError, TrustkitError
from trustkit.inspection import inspect_bytes, render_text
from trustkit.pki import PKISpec, parse_spec
from trustkit.tsa import check_reply, check_token
from trustkit.validation import RevocationMode, ValidationPolicy, validate

CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus"

PARSE = settings(max_examples=150, deadline=timedelta(seconds=2))
"""Pure parsing: milliseconds per example, so two seconds only trips on a hang."""
CRYPTO = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Signature checks and path validation: slower and noisier on a shared machine, so
the bound is the example count."""
REPLIES = settings(CRYPTO, max_examples=30)
"""Timestamp replies: parsing one takes about 0.1 s (the whole token is decoded to
check that it is present; see docs/fuzzing.md), so fewer examples."""


def _seed(parser: str, name: str) -> bytes:
    return (CORPUS / parser / name).read_bytes()


@st.composite
def mutated(draw: st.DrawFn, template: bytes) -> bytes:
    """``template`` after one to six byte edits: set, delete, insert, truncate."""
    data = bytearray(template)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        edit = draw(st.integers(0, 3))
        if edit == 0 and data:
            data[pos] = draw(st.integers(0, 255))
        elif edit == 1:
            del data[pos : pos + draw(st.integers(1, 16))]
        elif edit == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[pos:]
    return bytes(data)


# --- PEM bundles (encoding.read_blocks) ---------------------------------------------------

_LABELS = st.sampled_from(["CERTIFICATE", "X509 CRL", "CERTIFICATE REQUEST", "PKCS7", "A B 1"])


@st.composite
def pem_bundle(draw: st.DrawFn) -> tuple[bytes, list[PemBlock]]:
    """Text with PEM blocks, headers, CRLF and noise between them, and the blocks in it."""
    blocks = draw(st.lists(st.tuples(_LABELS, st.binary(max_size=120)), min_size=1, max_size=4))
    text = b""
    for label, der in blocks:
        text += draw(st.sampled_from([b"", b"noise\n", b"Subject: CN=x\r\n", b"-----\n"]))
        block = pem_encode(label, der)
        if draw(st.booleans()):
            block = block.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\n\n", 1)
        if draw(st.booleans()):
            block = block.replace(b"\n", b"\r\n")
        text += block
    return text, [PemBlock(label, der) for label, der in blocks]


@PARSE
@given(pem_bundle())
def test_pem_bundles_read_back(bundle: tuple[bytes, list[PemBlock]]) -> None:
    text, blocks = bundle
    assert read_blocks(text) == blocks


@PARSE
@given(pem_bundle().flatmap(lambda bundle: mutated(bundle[0])))
def test_mutated_pem_bundles(data: bytes) -> None:
    try:
        blocks = read_blocks(data)
    except TrustkitError:
        return
    assert blocks and all(isinstance(b.der, bytes) for b in blocks)


@PARSE
@given(
    st.lists(
        st.sampled_from(
            [b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n", b"-----", b"\n"]
        )
        | st.binary(max_size=20),
        max_size=60,
    )
)
def test_pem_boundary_soup(parts: list[bytes]) -> None:
    try:
        read_blocks(b"".join(parts))
    except TrustkitError:
        pass


# --- CRLs (encoding.load_crl, then validation's CRL evaluation) ---------------------------

_CRL_DER = _seed("crl", "issuing.der")


@CRYPTO
@given(mutated(_CRL_DER) | mutated(pem_encode("X509 CRL", _CRL_DER)))
def test_mutated_crls(data: bytes) -> None:
    w = world()
    try:
        crl = load_crl(data)
    except TrustkitError:
        return
    try:
        validate(
            seeded("revoked"),
            trust_anchors=[w.root],
            intermediates=[w.issuing],
            crls=[crl, w.root_crl],
            at=AT,
            policy=ValidationPolicy(revocation=RevocationMode.HARD_FAIL),
        )
    except TrustkitError:
        pass


@PARSE
@given(st.binary(max_size=300))
def test_garbage_crls_and_bundles(data: bytes) -> None:
    for load in (load_crl, load_certificates):
        for candidate in (data, b"\x30" + data, pem_encode("X509 CRL", data)):
            try:
                load(candidate)
            except TrustkitError:
                pass


# --- timestamp replies and tokens (tsa.check_reply, tsa.check_token) ----------------------

_REPLY = _seed("tsa_reply", "granted.der")


def _check_reply(data: bytes) -> None:
    try:
        token = check_reply(data, digest=TSA_DIGEST, nonce=TSA_NONCE)
    except TimestampError:
        return
    assert token.hashed_message == TSA_DIGEST and token.nonce == TSA_NONCE


@REPLIES
@given(mutated(_REPLY))
def test_mutated_timestamp_replies(data: bytes) -> None:
    _check_reply(data)


@REPLIES
@given(st.integers(0, len(_REPLY) - 1), st.integers(1, 255))
def test_one_byte_changed_in_a_reply(position: int, flip: int) -> None:
    data = bytearray(_REPLY)
    data[position] ^= flip
    _check_reply(bytes(data))


def test_unmutated_reply_passes() -> None:
    """The twin of the properties above: the template itself checks out."""
    assert check_reply(_REPLY, digest=TSA_DIGEST, nonce=TSA_NONCE).gen_time == AT
    with pytest.raises(TimestampError, match="imprint"):
        check_reply(_REPLY, digest=bytes(32), nonce=TSA_NONCE)


@CRYPTO
@given(st.binary(max_size=400) | mutated(_REPLY[9:]))
def test_garbage_tokens(data: bytes) -> None:
    # A TimeStampResp of this size starts with 30 82 LL LL 30 03 02 01 00: the token follows.
    try:
        check_token(data, digest=TSA_DIGEST, extra_certificates=[world().tsa.certificate])
    except TimestampError:
        pass


# --- TOML: pki specs and CA configurations ------------------------------------------------

_SPEC_KEYS = [
    *("pki", "service", "ca", "certificate", "base_url", "host", "port", "subject", "parent"),
    *("key_type", "days", "path_length", "permit", "exclude", "profile", "sans", "pkcs12"),
    *("revoke", "root", "issuing", "web"),
]
_CONFIG_KEYS = [
    *("ca", "urls", "crl", "profiles", "name", "key", "store", "pkcs11_module", "base"),
    *("ocsp", "ca_issuers", "next_update_hours", "shards", "delta", "tls-server"),
    *("validity_days", "base", "key_usage", "extended_key_usage"),
]

_TOML_SCALARS = (
    st.text(max_size=24)
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.booleans()
    | st.dates()
    | st.datetimes()
    | st.sampled_from(["CN=X,O=Y,C=EE", "dns:a.example", "ec-p256", "tls-server", "root", "x"])
)


def _toml(keys: list[str]) -> st.SearchStrategy[Any]:
    key = st.sampled_from(keys) | st.text(max_size=6)
    return st.recursive(
        _TOML_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=5),
        max_leaves=25,
    )


@st.composite
def edited(draw: st.DrawFn, document: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """``document`` with one to four tables or values replaced, added or removed."""
    out: dict[str, Any] = json.loads(json.dumps(document))  # a deep, plain copy
    for _ in range(draw(st.integers(1, 4))):
        table = out
        while True:
            children = [k for k, v in table.items() if isinstance(v, dict)]
            if not children or draw(st.booleans()):
                break
            table = table[draw(st.sampled_from(sorted(children)))]
        name = draw(st.sampled_from(sorted(table) + keys))
        if name in table and draw(st.integers(0, 3)) == 0:
            del table[name]
        else:
            table[name] = draw(_toml(keys))
    return out


_SPEC = tomllib.loads(_seed("pki_spec", "small.toml").decode())
_CONFIG = tomllib.loads(_seed("ca_config", "hsm-postgres.toml").decode())


def _spec(document: Mapping[str, Any]) -> None:
    try:
        assert isinstance(parse_spec(document), PKISpec)
    except ConfigError:
        pass


def _config(document: Mapping[str, Any]) -> None:
    try:
        config = CAConfig.from_mapping(document, source="fuzz")
    except ConfigError:
        return
    again = CAConfig.from_mapping(tomllib.loads(config.to_toml().decode()), source="again")
    assert again.name == config.name and again.crl_shards == config.crl_shards


@PARSE
@given(edited(_SPEC, _SPEC_KEYS))
def test_edited_pki_specs(document: dict[str, Any]) -> None:
    _spec(document)


@PARSE
@given(st.dictionaries(st.sampled_from(_SPEC_KEYS[:4]), _toml(_SPEC_KEYS), max_size=4))
def test_arbitrary_pki_specs(document: dict[str, Any]) -> None:
    _spec(document)


@PARSE
@given(edited(_CONFIG, _CONFIG_KEYS))
def test_edited_ca_configs(document: dict[str, Any]) -> None:
    _config(document)


@PARSE
@given(st.dictionaries(st.sampled_from(_CONFIG_KEYS[:4]), _toml(_CONFIG_KEYS), max_size=4))
def test_arbitrary_ca_configs(document: dict[str, Any]) -> None:
    _config(document)


def test_toml_templates_are_valid() -> None:
    """The twin: the unedited documents parse, and a wrong type is named."""
    assert parse_spec(_SPEC).cas[0].name == "root"
    assert CAConfig.from_mapping(_CONFIG).crl_shards == 4
    with pytest.raises(ConfigError, match=r"service\.port"):
        parse_spec({**_SPEC, "service": {"port": "8443"}})


# --- inspection.inspect_bytes ---------------------------------------------------------------

_INSPECT = [p.read_bytes() for p in sorted((CORPUS / "inspect").iterdir())]


def _inspect(data: bytes) -> None:
    try:
        described = inspect_bytes(data)
    except TrustkitError:
        return
    render_text(described)
    json.dumps([{"kind": d.kind, **d.fields} for d in described])


@CRYPTO
@given(st.sampled_from(_INSPECT).flatmap(mutated))
def test_mutated_objects_inspected(data: bytes) -> None:
    _inspect(data)


@PARSE
@given(
    st.builds(
        lambda label, der: pem_encode(label, der),
        st.sampled_from(["CERTIFICATE", "X509 CRL", "CERTIFICATE REQUEST", "PUBLIC KEY", "CMS"]),
        st.binary(max_size=200).map(lambda b: b"\x30" + bytes([len(b) & 0x7F]) + b),
    )
    | st.binary(max_size=300)
)
def test_garbage_inspected(data: bytes) -> None:
    _inspect(data)


def test_inspect_templates_describe() -> None:
    """The twin: the seeds describe as what they are."""
    kinds = [inspect_bytes(data)[0].kind for data in _INSPECT]
    assert kinds == ["cms", "certificate", "ocsp-request", "ocsp-response"]
    assert base64.b64encode(b"\x30\x00") in _seed("inspect", "objects.pem")
