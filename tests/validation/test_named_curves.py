"""Elliptic-curve keys must name their curve (RFC 5480 2.1.1), anywhere on the path.

cryptography reads explicit P-256 parameters as secp256r1, so a certificate whose key
spells its curve out would otherwise validate: the encoding CVE-2020-0601 used to pass
a forged key off as a trusted root's. Each refused certificate here is the named twin
of an accepted one, rebuilt with the curve's OID replaced by its explicit parameters
and signed again, so nothing else differs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.explicit_curve import with_explicit_key
from trustkit.cli import cli
from trustkit.errors import DisallowedAlgorithmError, PathBuildingError, ValidationError
from trustkit.validation import validate

from .conftest import AT, Node, Pki, issue, leaf

EXPLICIT = r"elliptic curve given as specifiedCurve, not a namedCurve \(RFC 5480 2\.1\.1"


def _explicit(node: Node, signer: Node | None) -> Node:
    """``node`` with its key's curve explicit, signed by ``signer`` (itself when None)."""
    key = (signer or node).key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = with_explicit_key(node.cert, key)
    assert cert.public_key().public_numbers() == node.cert.public_key().public_numbers()  # type: ignore[union-attr]
    return Node(cert, node.key)


def _refused(run: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        run()  # type: ignore[operator]
    # Refused for the curve, or (another path having been tried) with the curve among
    # the reasons: never for a bad signature, which would mean the rebuild was wrong.
    text = " ".join([str(caught.value), *caught.value.failures])
    assert "specifiedCurve, not a namedCurve" in text, text
    assert "signature does not verify" not in text, text
    return caught.value


def test_explicit_leaf_refused(pki: Pki) -> None:
    ee = pki.make_leaf()
    kwargs = {"trust_anchors": [pki.root.cert], "intermediates": [pki.inter.cert], "at": AT}
    assert validate(ee.cert, **kwargs).path[0] == ee.cert  # type: ignore[arg-type]
    explicit = _explicit(ee, pki.inter)
    error = _refused(lambda: validate(explicit.cert, **kwargs))  # type: ignore[arg-type]
    assert isinstance(error, DisallowedAlgorithmError)
    assert error.index == 0


def test_explicit_intermediate_refused(pki: Pki) -> None:
    inter = issue("Explicit Issuing CA", pki.root, ca=True, path_length=0)
    ee = leaf(inter)
    kwargs = {"trust_anchors": [pki.root.cert], "at": AT}
    assert len(validate(ee.cert, intermediates=[inter.cert], **kwargs).path) == 3  # type: ignore[arg-type]
    explicit = _explicit(inter, pki.root)
    _refused(lambda: validate(ee.cert, intermediates=[explicit.cert], **kwargs))  # type: ignore[arg-type]


def test_explicit_trust_anchor_refused() -> None:
    """The anchor too: trusting a certificate is no reason to use an explicit curve."""
    root = issue("Explicit Root CA", None, ca=True)
    ee = leaf(root)
    assert len(validate(ee.cert, trust_anchors=[root.cert], at=AT).path) == 2
    explicit_root = _explicit(root, None)
    error = _refused(lambda: validate(ee.cert, trust_anchors=[explicit_root.cert], at=AT))
    assert isinstance(error, DisallowedAlgorithmError | PathBuildingError)


def test_explicit_and_named_anchor_side_by_side() -> None:
    """Beside the named anchor the explicit one changes nothing, in either order."""
    root = issue("Twin Root CA", None, ca=True)
    ee = leaf(root)
    explicit_root = _explicit(root, None)
    for anchors in ([explicit_root.cert, root.cert], [root.cert, explicit_root.cert]):
        assert validate(ee.cert, trust_anchors=anchors, at=AT).path[-1] == root.cert


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_strict_agrees(pki: Pki, tmp_path: Path) -> None:
    """`openssl verify -x509_strict` refuses the explicit-curve leaf too, and takes its twin."""
    ee = pki.make_leaf()
    explicit = _explicit(ee, pki.inter)

    def pem(cert: x509.Certificate, path: Path) -> str:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return str(path)

    root = pem(pki.root.cert, tmp_path / "root.pem")
    inter = pem(pki.inter.cert, tmp_path / "inter.pem")
    at = str(int(AT.timestamp()))
    for cert, ok in ((ee.cert, True), (explicit.cert, False)):
        result = subprocess.run(
            [
                "openssl",
                "verify",
                "-x509_strict",
                "-attime",
                at,
                "-CAfile",
                root,
                "-untrusted",
                inter,
                pem(cert, tmp_path / "ee.pem"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert (result.returncode == 0) is ok, result.stdout + result.stderr
        if not ok:
            assert "explicit" in (result.stdout + result.stderr).lower()


def test_cli_validate_refuses_in_one_line(pki: Pki, tmp_path: Path) -> None:
    ee = pki.make_leaf()
    explicit = _explicit(ee, pki.inter)
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root.cert.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pki.inter.cert.public_bytes(serialization.Encoding.PEM))
    for cert, code in ((ee.cert, 0), (explicit.cert, 1)):
        path = tmp_path / "ee.der"
        path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        args = ["validate", str(path), "--trust", str(root), "--untrusted", str(chain)]
        run = CliRunner().invoke(cli, [*args, "--at", AT.isoformat()])
        assert run.exit_code == code, run.output
        if code:
            # The report goes to stdout; the reason is one line on stderr.
            (line,) = run.stderr.strip().splitlines()
            assert "specifiedCurve, not a namedCurve (RFC 5480 2.1.1" in line
