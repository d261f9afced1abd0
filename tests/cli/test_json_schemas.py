"""Every ``--json`` command prints JSON on success and on a negative answer, and the
output matches the command's schema in docs/schemas/ (JSON Schema 2020-12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from referencing import Registry, Resource

from trustkit.cli import cli

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
ENV = {"TRUSTKIT_PASSPHRASE": "s3cret-passphrase", "TRUSTKIT_CA": ""}
ROOT = "CN=Schema Root CA,O=Republic of Example,C=EX"


def _registry() -> Registry:  # type: ignore[type-arg]
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def check(command: str, document: Any) -> None:
    """Validate ``document`` against docs/schemas/COMMAND.schema.json, failing loudly."""
    schema = json.loads((SCHEMAS / f"{command}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, registry=REGISTRY, format_checker=jsonschema.FormatChecker()
    )
    validator.validate(document)


def run(*args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"trustkit {' '.join(args)}: stdout is not JSON: {result.stdout!r}")
    return result.exit_code, document, result.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("schemas")
    root = base / "root"
    for directory, subject in ((root, ROOT), (base / "other", "CN=Other Root CA,C=EX")):
        result = CliRunner().invoke(
            cli,
            [
                "init",
                "--ca",
                str(directory),
                "--subject",
                subject,
                "--base-url",
                "http://pki.example.gov",
            ],
            env=ENV,
        )
        assert result.exit_code == 0, result.output
    key = base / "leaf.key"
    csr = base / "leaf.csr"
    for args in (
        ["key", "generate", "-o", str(key), "--no-encrypt"],
        ["csr", "create", "--key", str(key), "--san", "dns:www.example.gov", "-o", str(csr)],
        [
            "issue",
            "--ca",
            str(root),
            "--csr",
            str(csr),
            "--profile",
            "tls-server",
            "-o",
            str(base / "leaf.pem"),
        ],
    ):
        result = CliRunner().invoke(cli, args, env=ENV)
        assert result.exit_code == 0, result.output
    return base


def test_every_schema_is_a_valid_json_schema() -> None:
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert names, "no schema files"
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


def test_a_schema_refuses_what_it_should(pki: Path) -> None:
    # The twin of every check below: a schema that accepted anything would pass them.
    with pytest.raises(jsonschema.ValidationError):
        check("validate", {"valid": True})
    with pytest.raises(jsonschema.ValidationError):
        check("list", [{"serial": "01"}])
    with pytest.raises(jsonschema.ValidationError):
        check("inspect", {"error": "not the error object"})
    with pytest.raises(jsonschema.ValidationError):
        check("validate", {**_valid_report(pki), "error": None, "valid": False})


def _valid_report(pki: Path) -> Any:
    code, document, _ = run(
        "validate", str(pki / "leaf.pem"), "--trust", str(pki / "root" / "ca.pem"), "--json"
    )
    assert code == 0
    return document


def test_validate_valid(pki: Path) -> None:
    document = _valid_report(pki)
    check("validate", document)
    assert document["valid"] is True and document["error"] is None


def test_validate_refused_prints_the_same_report(pki: Path) -> None:
    code, document, stderr = run(
        "validate",
        str(pki / "leaf.pem"),
        "--trust",
        str(pki / "root" / "ca.pem"),
        "--purpose",
        "code-signing",
        "--json",
    )
    assert code == 1
    check("validate", document)
    assert document["valid"] is False
    assert document["error"]["kind"] == "InvalidPurposeError"
    assert document["error"]["index"] == 0
    assert [e["index"] for e in document["path"]] == [0, 1]
    assert len(stderr.strip().splitlines()) == 1


def test_validate_no_path(pki: Path) -> None:
    code, document, _ = run(
        "validate", str(pki / "leaf.pem"), "--trust", str(pki / "other" / "ca.pem"), "--json"
    )
    assert code == 1
    check("validate", document)
    assert document["error"]["kind"] == "PathBuildingError"


def test_validate_bad_input_is_an_error_document(pki: Path) -> None:
    garbage = pki / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    code, document, stderr = run("validate", str(garbage), "--trust", str(garbage), "--json")
    assert code == 1
    check("validate", document)
    assert document["error"]["kind"] == "DecodeError"
    assert "garbage.pem" in document["error"]["message"] and "garbage.pem" in stderr


def test_inspect(pki: Path) -> None:
    code, document, _ = run("inspect", str(pki / "leaf.pem"), "--json")
    assert code == 0
    check("inspect", document)
    code, document, _ = run("inspect", str(pki / "leaf.csr"), "--json")
    assert code == 0
    check("inspect", document)


def test_inspect_garbage(pki: Path) -> None:
    garbage = pki / "garbage.bin"
    garbage.write_bytes(b"\x30\x03\x02\x01")
    code, document, _ = run("inspect", str(garbage), "--json")
    assert code == 1
    check("inspect", document)


def test_list_and_show(pki: Path) -> None:
    code, document, _ = run("list", "--ca", str(pki / "root"), "--json")
    assert code == 0 and "tls-server" in {r["profile"] for r in document}
    check("list", document)
    code, shown, _ = run("show", "--ca", str(pki / "root"), document[0]["serial"], "--json")
    assert code == 0
    check("show", shown)


def test_list_and_show_negative(pki: Path) -> None:
    code, document, _ = run("list", "--ca", str(pki / "no-such-ca"), "--json")
    assert code == 1
    check("list", document)
    code, document, _ = run("show", "--ca", str(pki / "root"), "7FFFFFFF", "--json")
    assert code == 1
    check("show", document)
    assert document["error"]["kind"] == "NotFoundError"


def test_revoke_and_revoke_again(pki: Path, tmp_path: Path) -> None:
    _, listed, _ = run("list", "--ca", str(pki / "root"), "--json")
    serial = next(r["serial"] for r in listed if r["profile"] == "tls-server")
    code, document, _ = run("revoke", "--ca", str(pki / "root"), serial, "--json")
    assert code == 0
    check("revoke", document)
    code, document, _ = run("revoke", "--ca", str(pki / "root"), serial, "--json")
    assert code == 1
    check("revoke", document)
    assert document["error"]["kind"] == "AlreadyRevokedError"


def test_a_command_that_prints_its_own_refusal_prints_one_document(pki: Path) -> None:
    # verify prints {"valid": false, ...} itself; no error document may follow it,
    # or stdout would hold two JSON documents (json.loads in run() would fail).
    doc = pki / "doc.txt"
    doc.write_bytes(b"a form\n")
    sig = pki / "doc.p7s"
    result = CliRunner().invoke(
        cli,
        [
            "sign",
            str(doc),
            "--cert",
            str(pki / "leaf.pem"),
            "--key",
            str(pki / "leaf.key"),
            "-o",
            str(sig),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    # A TLS server certificate does not sign documents, and "other" is not its root:
    # both refusals, each one JSON document (the valid twin is in test_cli_sign.py).
    for anchor in ("root", "other"):
        trust = str(pki / anchor / "ca.pem")
        code, document, stderr = run(
            "verify", str(doc), "--signature", str(sig), "--trust", trust, "--json"
        )
        assert code == 1
        assert document["valid"] is False, stderr
        assert len(stderr.strip().splitlines()) == 1
