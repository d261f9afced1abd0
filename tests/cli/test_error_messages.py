"""Every error is one line in the user's words: the fuzz corpora, and deterministic
mutations of them, fed through the commands that read those objects; no message may
carry a Python or Rust type name, a parser's own sentence, a traceback or a repeated
word. ``--debug`` keeps the parser's words for whoever needs them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from trustkit.cli import cli
from trustkit.cli._messages import user_message

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
ENV = {"TRUSTKIT_PASSPHRASE": "s3cret-passphrase", "TRUSTKIT_CA": ""}

INTERNALS = re.compile(
    r"Traceback|ParseError|asn1crypto|\w+::\w+|\bTag \{|<class |object at 0x|\bb'"
    r"|\b[A-Z]\w*(?:Error|Exception|Warning)\b|should have been|Insufficient data"
)
REPEATED = re.compile(r"\b([\w#-]+): \1:")

# The commands that read each corpus's objects; FILE is the object, CA a real CA directory.
COMMANDS: dict[str, list[list[str]]] = {
    "certificate": [["inspect", "FILE"], ["validate", "FILE", "--trust", "FILE"]],
    "pem": [["inspect", "FILE"], ["validate", "FILE", "--trust", "ANCHOR"]],
    "inspect": [["inspect", "FILE"]],
    "cms": [["inspect", "FILE"], ["verify", "--signature", "FILE", "--trust", "ANCHOR"]],
    "crl": [["inspect", "FILE"], ["validate", "ANCHOR", "--trust", "ANCHOR", "--crl", "FILE"]],
    "ocsp_response": [
        ["inspect", "FILE"],
        ["validate", "ANCHOR", "--trust", "ANCHOR", "--ocsp", "FILE"],
    ],
    "csr": [["inspect", "FILE"], ["issue", "--ca", "CA", "--csr", "FILE", "-o", "OUT"]],
    "ocsp_request": [["inspect", "FILE"]],
    "tsa_reply": [["inspect", "FILE"]],
    "tsa_request": [["inspect", "FILE"]],
}


def variants(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The seed, three truncations and four single-byte flips (fixed positions)."""
    yield "seed", data
    for cut in (2, len(data) // 2, len(data) - 1):
        if 0 < cut < len(data):
            yield f"cut{cut}", data[:cut]
    for offset in (1, 4, len(data) // 3, len(data) - 40):
        if 0 <= offset < len(data):
            flipped = bytearray(data)
            flipped[offset] ^= 0xFF
            yield f"flip{offset}", bytes(flipped)


def problems(stderr: str) -> list[str]:
    """What is wrong with an error output, empty when it is one line in plain words."""
    found = []
    lines = stderr.strip().splitlines()
    if len(lines) != 1:
        found.append(f"{len(lines)} lines")
    if INTERNALS.search(stderr):
        found.append(f"internals: {INTERNALS.search(stderr).group(0)!r}")  # type: ignore[union-attr]
    if REPEATED.search(stderr):
        found.append(f"repeated: {REPEATED.search(stderr).group(0)!r}")  # type: ignore[union-attr]
    return found


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("errors") / "ca"
    result = CliRunner().invoke(
        cli,
        ["init", "--ca", str(directory), "--subject", "CN=Errors Root CA,C=EX"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    return directory


@pytest.mark.parametrize("corpus", sorted(COMMANDS))
def test_corpus_errors_are_one_plain_line(corpus: str, ca_dir: Path, tmp_path: Path) -> None:
    anchor = str(ca_dir / "ca.pem")
    bad: list[str] = []
    ran = refused = 0
    for seed in sorted((CORPUS / corpus).iterdir()):
        for name, data in variants(seed.read_bytes()):
            path = tmp_path / f"{seed.name}.{name}"
            path.write_bytes(data)
            for template in COMMANDS[corpus]:
                args = [
                    {"FILE": str(path), "ANCHOR": anchor, "CA": str(ca_dir)}.get(a, a)
                    for a in template
                ]
                args = [str(tmp_path / "out.pem") if a == "OUT" else a for a in args]
                result = CliRunner().invoke(cli, args, env=ENV)
                ran += 1
                assert result.exit_code in (0, 1), (args, result.output, result.exception)
                if result.exit_code == 1:
                    refused += 1
                    for problem in problems(result.stderr):
                        bad.append(f"{' '.join(template)} {path.name}: {problem}: {result.stderr}")
    assert refused, f"{corpus}: no variant was refused, so nothing was checked ({ran} runs)"
    assert not bad, "\n".join(bad[:20])


def test_the_checker_flags_what_the_parsers_say() -> None:
    # The twin of the corpus test: the raw texts of the issue are caught by problems().
    raw = [
        "trustkit: error: x: not a valid X.509 certificate (error parsing asn1 value: "
        "ParseError { kind: ShortData { needed: 359 } })",
        "trustkit: error: Error parsing asn1crypto.x509.GeneralNames - tag should have been "
        "16, but 17 was found",
        "trustkit: error: malformed: Insufficient data - 97 bytes requested but only 5 available",
        "trustkit: error: signature: signature: does not verify",
        "Traceback (most recent call last):\n  ValueError: x",
    ]
    for text in raw:
        assert problems(text), text
    assert not problems("trustkit: error: x.der: not a valid X.509 certificate (DER: truncated)")


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (
            "x.der: not a valid X.509 certificate (error parsing asn1 value: ParseError "
            "{ kind: ShortData { needed: 359 } })",
            "x.der: not a valid X.509 certificate (DER: truncated, 359 more bytes expected)",
        ),
        (
            "x.der: not a valid X.509 certificate (error parsing asn1 value: ParseError { kind: "
            "UnexpectedTag { actual: Tag { value: 3, constructed: false, class: ContextSpecific"
            ' } }, location: ["Certificate::tbs_cert", "TbsCertificate::serial"] })',
            "x.der: not a valid X.509 certificate (DER: an unexpected field in serial)",
        ),
        (
            "CMS signature: malformed SignedData (RFC 5652 5): Error parsing "
            "asn1crypto.cms.ContentType - tag should have been 6, but 17 was found while "
            "parsing asn1crypto.cms.ContentInfo",
            "CMS signature: malformed SignedData (RFC 5652 5): DER: an unexpected field in "
            "ContentType",
        ),
        (
            "reply: Insufficient data - 97 bytes requested but only 5 available",
            "reply: truncated, 97 bytes expected and 5 present",
        ),
        ("signature: signature: does not verify", "signature: does not verify"),
        ("x.pem: no CERTIFICATE PEM block found", "x.pem: no CERTIFICATE PEM block found"),
    ],
    ids=["rust-short", "rust-tag-field", "asn1crypto-tag", "asn1crypto-short", "repeat", "plain"],
)
def test_user_message(raw: str, plain: str) -> None:
    assert user_message(raw) == plain


def test_debug_keeps_the_parser_words(tmp_path: Path) -> None:
    path = tmp_path / "short.der"
    path.write_bytes((CORPUS / "certificate" / "leaf.der").read_bytes()[:300])
    plain = CliRunner().invoke(cli, ["validate", str(path), "--trust", str(path)])
    debug = CliRunner().invoke(cli, ["--debug", "validate", str(path), "--trust", str(path)])
    assert plain.exit_code == debug.exit_code == 1
    assert "ParseError" not in plain.stderr and "DER: truncated" in plain.stderr
    assert "ParseError" in debug.stderr and "Traceback" in debug.stderr
