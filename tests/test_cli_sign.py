"""``trustkit sign`` and ``trustkit verify`` through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cms.conftest import Pki, build_pki
from trustkit.cli import cli
from trustkit.keys import save_private_key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    key, cert = pki.signers["ec-p256"]
    paths = {
        name: tmp_path / name
        for name in ("doc.txt", "cert.pem", "key.pem", "chain.pem", "root.pem", "other.pem", "pass")
    }
    paths["doc.txt"].write_bytes(b"an application form\n" * 50)
    paths["cert.pem"].write_bytes(cert.public_bytes(Encoding.PEM))
    save_private_key(key, paths["key.pem"], b"signer passphrase")  # type: ignore[arg-type]
    paths["pass"].write_bytes(b"signer passphrase\n")
    paths["chain.pem"].write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in pki.chain))
    paths["root.pem"].write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    paths["other.pem"].write_bytes(pki.other_root.certificate.public_bytes(Encoding.PEM))
    return paths


def _sign(files: dict[str, Path], *extra: str) -> Path:
    out = files["doc.txt"].with_suffix(".p7s")
    result = CliRunner().invoke(
        cli,
        [
            "sign",
            str(files["doc.txt"]),
            "--cert",
            str(files["cert.pem"]),
            "--key",
            str(files["key.pem"]),
            "--chain",
            str(files["chain.pem"]),
            "--passphrase-file",
            str(files["pass"]),
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_sign_and_verify(files: dict[str, Path]) -> None:
    sig = _sign(files)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["root.pem"]),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True
    assert report["signers"][0]["subject"].startswith("CN=Seal ec-p256")


def test_attached_verifies_without_file(files: dict[str, Path]) -> None:
    sig = _sign(files, "--attached", "--hash", "sha384")
    result = CliRunner().invoke(
        cli, ["verify", "--signature", str(sig), "--trust", str(files["root.pem"])]
    )
    assert result.exit_code == 0, result.output
    assert "sha384" in result.output


def test_tampered_file_exits_1(files: dict[str, Path]) -> None:
    sig = _sign(files)
    files["doc.txt"].write_bytes(b"an altered form\n")
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["root.pem"]),
        ],
    )
    assert result.exit_code == 1
    assert "message-digest" in result.output


def test_wrong_root_exits_1_with_json(files: dict[str, Path]) -> None:
    sig = _sign(files)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["other.pem"]),
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert '"valid": false' in result.output


# A chain travels with the signature however the user hands it over: after the
# certificate in --cert, or in NAME-chain.pem beside NAME.pem (as pki apply writes).


def _sign_without_chain_option(files: dict[str, Path], cert: Path, *extra: str) -> Path:
    out = files["doc.txt"].with_suffix(".p7s")
    result = CliRunner().invoke(
        cli,
        [
            "sign",
            str(files["doc.txt"]),
            "--cert",
            str(cert),
            "--key",
            str(files["key.pem"]),
            "--passphrase-file",
            str(files["pass"]),
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def _verify_with_root_only(files: dict[str, Path], sig: Path) -> int:
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["root.pem"]),
        ],
    )
    return result.exit_code


def _embedded(sig: Path) -> int:
    from trustkit._asn1 import parse_signed_data

    return len(parse_signed_data(sig.read_bytes()).certificates)


def test_full_chain_in_cert_file_is_embedded(files: dict[str, Path]) -> None:
    fullchain = files["cert.pem"].with_name("fullchain.pem")
    fullchain.write_bytes(files["cert.pem"].read_bytes() + files["chain.pem"].read_bytes())
    sig = _sign_without_chain_option(files, fullchain)
    assert _embedded(sig) == 3
    assert _verify_with_root_only(files, sig) == 0


def test_leaf_alone_is_not_enough_for_a_root_only_verifier(files: dict[str, Path]) -> None:
    sig = _sign_without_chain_option(files, files["cert.pem"])
    assert _embedded(sig) == 1
    assert _verify_with_root_only(files, sig) == 1


def test_chain_file_beside_the_certificate_is_embedded(files: dict[str, Path]) -> None:
    beside = files["cert.pem"].with_name("cert-chain.pem")
    beside.write_bytes(files["cert.pem"].read_bytes() + files["chain.pem"].read_bytes())
    sig = _sign_without_chain_option(files, files["cert.pem"])
    assert _embedded(sig) == 3
    assert _verify_with_root_only(files, sig) == 0


def test_stale_chain_file_of_another_certificate_is_ignored(
    pki: Pki, files: dict[str, Path]
) -> None:
    _key, other_cert = pki.signers["rsa-2048"]
    beside = files["cert.pem"].with_name("cert-chain.pem")
    beside.write_bytes(other_cert.public_bytes(Encoding.PEM) + files["chain.pem"].read_bytes())
    sig = _sign_without_chain_option(files, files["cert.pem"])
    assert _embedded(sig) == 1


def test_chain_option_and_cert_bundle_overlap_once(files: dict[str, Path]) -> None:
    fullchain = files["cert.pem"].with_name("fullchain.pem")
    fullchain.write_bytes(files["cert.pem"].read_bytes() + files["chain.pem"].read_bytes())
    sig = _sign_without_chain_option(files, fullchain, "--chain", str(files["chain.pem"]))
    assert _embedded(sig) == 3


@pytest.mark.parametrize("how", ["fullchain", "beside", "chain-option"])
def test_export_p12_reads_the_bundle_as_sign_does(files: dict[str, Path], how: str) -> None:
    from trustkit.bundles import load_pkcs12

    cert = files["cert.pem"]
    extra: list[str] = []
    if how == "fullchain":
        cert = cert.with_name("fullchain.pem")
        cert.write_bytes(files["cert.pem"].read_bytes() + files["chain.pem"].read_bytes())
    elif how == "beside":
        cert.with_name("cert-chain.pem").write_bytes(
            cert.read_bytes() + files["chain.pem"].read_bytes()
        )
    else:
        extra = ["--chain", str(files["chain.pem"])]
    p12_pass = files["pass"].with_name("p12pass")
    p12_pass.write_bytes(b"p12 passphrase\n")
    out = files["doc.txt"].with_name("bundle.p12")
    result = CliRunner().invoke(
        cli,
        [
            "export-p12",
            "--cert",
            str(cert),
            "--key",
            str(files["key.pem"]),
            "--passphrase-file",
            str(files["pass"]),
            "--p12-passphrase-file",
            str(p12_pass),
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    _key, leaf, chain = load_pkcs12(out.read_bytes(), b"p12 passphrase")
    assert leaf is not None and leaf.public_bytes(Encoding.PEM) == files["cert.pem"].read_bytes()
    assert len(chain) == 2


@pytest.mark.interop
@pytest.mark.parametrize("bundled", [True, False], ids=["with-chain", "leaf-only"])
def test_openssl_verifies_with_only_the_root(files: dict[str, Path], bundled: bool) -> None:
    import subprocess

    cert = files["cert.pem"]
    if bundled:
        cert.with_name("cert-chain.pem").write_bytes(
            cert.read_bytes() + files["chain.pem"].read_bytes()
        )
    sig = _sign_without_chain_option(files, cert)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(sig),
            "-content",
            str(files["doc.txt"]),
            "-CAfile",
            str(files["root.pem"]),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        check=False,
    )
    assert (result.returncode == 0) is bundled, result.stderr.decode()
