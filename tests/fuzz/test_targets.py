"""The fuzz targets as plain tests: seeds plus a few hundred mutations each, without atheris.

CI exercises the harness code here (and catches a target that no longer
imports or a seed that no longer means what it should); the long fuzzing is
local and documented in docs/fuzzing.md. Mutations are reproducible: a
failure names the input index, and ``inputs(parser, n)`` regenerates it.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.x509 import ocsp

from tests.fuzz import fuzz_large
from tests.fuzz._harness import (
    CORPUS,
    FINDINGS,
    KNOWN_FINDINGS,
    KnownFinding,
    inputs,
    is_known,
    seeds,
)
from tests.fuzz._world import AT, CONTENT, TSA_DIGEST, TSA_NONCE, seeded, world
from trustkit.cms.verify import verify_cms
from trustkit.config import CAConfig
from trustkit.encoding import load_certificates, load_crl, load_ocsp_response, read_blocks
from trustkit.errors import (
    InvalidSignatureError,
    PathBuildingError,
    RevokedError,
    TimestampError,
    TrustkitError,
)
from trustkit.inspection import inspect_bytes
from trustkit.tsa import check_reply
from trustkit.validation import RevocationMode, ValidationPolicy, validate

HERE = Path(__file__).resolve().parent
TARGETS = sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))
MUTATIONS = 300
"""Mutated inputs per target: the whole module runs in seconds on one core."""
MUTATIONS_OF = {"large": 12}
"""Fewer for targets whose every input is large (512 KiB, read by several parsers)."""
HARD_FAIL = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
HANG_SECONDS = 10
"""An input still running after this long is a finding (libFuzzer's ``-timeout=10``)."""


def _expired(signum: int, frame: object) -> None:
    raise TimeoutError(f"one input ran for {HANG_SECONDS} s")


def _target(parser: str) -> Callable[[bytes], None]:
    module: ModuleType = importlib.import_module(f"tests.fuzz.fuzz_{parser}")
    function: Callable[[bytes], None] = module.TestOneInput
    return function


def test_every_target_has_seeds() -> None:
    assert len(TARGETS) == 13, TARGETS
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == TARGETS
    for parser in TARGETS:
        files = seeds(parser)
        assert 2 <= len(files) and all(0 < len(f) <= 8192 for f in files), parser


def test_targets_do_not_need_atheris() -> None:
    for parser in TARGETS:
        _target(parser)
    assert "atheris" not in sys.modules


@pytest.mark.parametrize("parser", TARGETS)
def test_target_over_seeds_and_mutations(parser: str) -> None:
    target = _target(parser)
    previous = signal.signal(signal.SIGALRM, _expired)
    try:
        for index, data in enumerate(inputs(parser, MUTATIONS_OF.get(parser, MUTATIONS))):
            _run_one(parser, target, index, data)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run_one(parser: str, target: Callable[[bytes], None], index: int, data: bytes) -> None:
    signal.alarm(HANG_SECONDS)
    try:
        target(data)
    except Exception as exc:
        if is_known(parser, exc):
            return  # reported; replayed by test_known_finding below
        raise AssertionError(f"{parser}: input {index} ({data[:40]!r}...): {exc!r}") from exc
    finally:
        signal.alarm(0)


@pytest.mark.parametrize("finding", KNOWN_FINDINGS, ids=lambda k: k.reproducer)
@pytest.mark.xfail(strict=True, reason="reported, not fixed yet: see docs/fuzzing.md")
def test_known_finding(finding: KnownFinding) -> None:
    """Fails while the bug is there; once fixed, this xpasses and the entry must go."""
    _target(finding.target)((FINDINGS / finding.reproducer).read_bytes())


FIXED = sorted(
    p.name for p in FINDINGS.iterdir() if p.name not in {k.reproducer for k in KNOWN_FINDINGS}
)


@pytest.mark.parametrize("name", FIXED)
def test_fixed_finding(name: str) -> None:
    """The input of every fixed finding goes through its target cleanly now."""
    _target(name.split("-", 1)[0])((FINDINGS / name).read_bytes())


def test_a_target_reports_an_escaping_exception() -> None:
    """The negative twin of the tests above: the harness does not swallow everything."""
    target = _target("pki_spec")
    target(b'[ca.x]\nsubject = "CN=X"\n')
    with pytest.raises(AttributeError):
        target(None)  # type: ignore[arg-type]  # bytes expected: not a TrustkitError


# --- the seeds mean what they should: each reaches the deep end, and a twin fails --------


def _validate(cert: x509.Certificate, **options: object) -> object:
    w = world()
    return validate(
        cert,
        trust_anchors=[w.root],
        intermediates=[w.issuing],
        at=AT,
        policy=HARD_FAIL,
        **options,  # type: ignore[arg-type]
    )


def _seed(parser: str, name: str) -> bytes:
    return (CORPUS / parser / name).read_bytes()


def test_certificate_seeds_validate() -> None:
    w = world()
    chain = load_certificates(_seed("certificate", "chain.pem"))
    assert _validate(chain[0], crls=[w.crl, w.root_crl])
    with pytest.raises(PathBuildingError):  # the twin: without the issuing CA
        validate(chain[0], trust_anchors=[w.root], at=AT)


def test_crl_seed_revokes() -> None:
    w = world()
    crl = load_crl(_seed("crl", "issuing.der"))
    assert _validate(seeded("leaf"), crls=[crl, w.root_crl])
    with pytest.raises(RevokedError):
        _validate(seeded("revoked"), crls=[crl, w.root_crl])


def test_ocsp_seeds_answer() -> None:
    w = world()
    good = load_ocsp_response(_seed("ocsp_response", "good.der"), what="seed")
    assert _validate(seeded("leaf"), crls=[w.root_crl], ocsp_responses=[good])
    revoked = load_ocsp_response(_seed("ocsp_response", "revoked.der"), what="seed")
    with pytest.raises(RevokedError):
        _validate(seeded("revoked"), crls=[w.root_crl], ocsp_responses=[revoked])
    for request in (_seed("ocsp_request", "sha1.der"), w.ocsp_request(w.leaf)):
        answer = ocsp.load_der_ocsp_response(w.responder.respond(request, at=AT))
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    answer = ocsp.load_der_ocsp_response(w.responder.respond(w.ocsp_request(w.revoked), at=AT))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED


def test_cms_seeds_verify() -> None:
    w = world()
    for name, content in (("detached-timestamped.der", CONTENT), ("attached.pem", None)):
        reports = verify_cms(content, _seed("cms", name), trust_anchors=[w.root], at=AT)
        assert reports and all(r.valid for r in reports), name
    with pytest.raises(InvalidSignatureError):
        verify_cms(
            CONTENT + b".", _seed("cms", "detached-timestamped.der"), trust_anchors=[w.root], at=AT
        )


def test_tsa_reply_seed_checks() -> None:
    token = check_reply(_seed("tsa_reply", "granted.der"), digest=TSA_DIGEST, nonce=TSA_NONCE)
    assert token.hashed_message == TSA_DIGEST
    with pytest.raises(TimestampError, match="nonce"):
        check_reply(_seed("tsa_reply", "granted.der"), digest=TSA_DIGEST, nonce=TSA_NONCE + 1)
    with pytest.raises(TimestampError, match="refused"):
        check_reply(_seed("tsa_reply", "rejected.der"), digest=TSA_DIGEST, nonce=TSA_NONCE)


def test_text_seeds_parse() -> None:
    import tomllib

    from trustkit.pki import parse_spec

    labels = [b.label for b in read_blocks(_seed("pem", "bundle.pem"))]
    assert labels == ["CERTIFICATE", "X509 CRL", "NEW CERTIFICATE REQUEST"]
    for name in ("demo-pki.toml", "small.toml"):
        assert parse_spec(tomllib.loads(_seed("pki_spec", name).decode())).cas, name
    config = CAConfig.from_mapping(tomllib.loads(_seed("ca_config", "hsm-postgres.toml").decode()))
    assert config.crl_shards == 4 and config.extra == {"service": {"port": 8080}}
    kinds = [d.kind for d in inspect_bytes(_seed("inspect", "objects.pem"))]
    assert kinds == ["certificate", "csr", "crl", "public-key", "private-key", "unknown"]
    with pytest.raises(TrustkitError):
        inspect_bytes(_seed("inspect", "objects.pem").replace(b"MII", b"MI*"))


def test_large_seeds_grow_into_what_they_name() -> None:
    bundle = fuzz_large.amplify(_seed("large", "bundle.bin"))
    assert len(bundle) > fuzz_large.LARGE * 0.9
    certificates = load_certificates(bundle)
    assert len(certificates) == fuzz_large.LARGE // (len(_seed("large", "bundle.bin")) - 1)
    assert len(set(certificates)) == 1
    assert certificates[0].subject == world().leaf.subject
    (block,) = read_blocks(fuzz_large.amplify(_seed("large", "pem-body.bin")))
    assert block.label == "CMS" and len(block.der) > fuzz_large.LARGE * 0.7
    der = fuzz_large.amplify(_seed("large", "der-sequence.bin"))
    assert read_blocks(der)[0].der == der


def test_large_target_reports_a_memory_hog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin: a reader that keeps 20 bytes per input byte is a finding."""
    seed = _seed("large", "pem-body.bin")
    fuzz_large.TestOneInput(seed)
    original = fuzz_large.read_blocks

    def hog(data: bytes, *, what: str = "input") -> object:
        kept = [bytes(data) + bytes([i]) for i in range(20)]
        del kept
        return original(data, what=what)

    monkeypatch.setattr(fuzz_large, "read_blocks", hog)
    with pytest.raises(AssertionError, match="bytes at peak for"):
        fuzz_large.TestOneInput(seed)
