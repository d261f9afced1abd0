"""NIST PKITS 1.0.1, data-driven from ``pkits_tests.json`` (never copied into the repo)."""

from __future__ import annotations

import json
import os
import re
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from trustkit.errors import ValidationError
from trustkit.validation import (
    AlgorithmPolicy,
    RevocationMode,
    ValidationPolicy,
    validate,
)

REPO = Path(__file__).resolve().parents[2]


def _pkits_dir() -> Path | None:
    env = os.environ.get("TRUSTKIT_PKITS_DIR")
    if env:
        return Path(env)
    fallback = REPO.parent / "shared" / "pkits"
    return fallback if fallback.is_dir() else None


PKITS = _pkits_dir()
MISSING = PKITS is None or not (PKITS / "pkits_tests.json").is_file()

# cryptography cannot parse a DSA SubjectPublicKeyInfo whose parameters are absent
# (RFC 3279 2.3.2 parameter inheritance): loading the certificate itself fails.
XFAIL = {
    "4.1.5": "DSA parameter inheritance: cryptography cannot load a certificate whose DSA "
    "key omits its parameters (RFC 3279 2.3.2)",
}


def _entries() -> list[dict[str, Any]]:
    if MISSING:
        return []
    assert PKITS is not None
    data = json.loads((PKITS / "pkits_tests.json").read_text())
    tests: list[dict[str, Any]] = data["tests"]
    return tests


def _test_id(entry: dict[str, Any]) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", entry["name"].lower()).strip("-")
    sub = f"-{entry['subpart']}" if entry.get("subpart") else ""
    return f"{entry['id']}-{name}{sub}".replace("--", "-")


def _params() -> list[Any]:
    out = []
    for entry in _entries():
        marks = []
        if entry["test_number"] in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[entry["test_number"]]))
        out.append(pytest.param(entry, id=_test_id(entry), marks=marks))
    return out


def _load_cert(rel: str) -> x509.Certificate:
    assert PKITS is not None
    with warnings.catch_warnings():
        # 4.4.14/4.4.15 carry negative serial numbers on purpose.
        warnings.simplefilter("ignore")
        return x509.load_der_x509_certificate((PKITS / rel).read_bytes())


def _load_crl(rel: str) -> x509.CertificateRevocationList:
    assert PKITS is not None
    return x509.load_der_x509_crl((PKITS / rel).read_bytes())


def test_pkits_data_present() -> None:
    if MISSING:
        if os.environ.get("CI"):
            pytest.fail("PKITS data not found: set TRUSTKIT_PKITS_DIR")
        pytest.skip("PKITS data not found (TRUSTKIT_PKITS_DIR or ../shared/pkits)")
    assert len(_entries()) == 249


@pytest.mark.parametrize("entry", _params())
def test_pkits(entry: dict[str, Any]) -> None:
    assert PKITS is not None
    data = json.loads((PKITS / "pkits_tests.json").read_text())
    at = datetime.fromisoformat(data["validation_time"].replace("Z", "+00:00"))
    settings = entry["settings"]
    policy = ValidationPolicy(
        initial_policy_set=frozenset(
            x509.ObjectIdentifier(o) for o in settings["initial_policy_set"]
        ),
        initial_explicit_policy=settings["initial_explicit_policy"],
        initial_policy_mapping_inhibit=settings["initial_policy_mapping_inhibit"],
        initial_any_policy_inhibit=settings["initial_inhibit_any_policy"],
        algorithms=AlgorithmPolicy.legacy(),
        revocation=RevocationMode.HARD_FAIL,
    )
    ee = _load_cert(entry["end_entity"])
    kwargs: dict[str, Any] = {
        "trust_anchors": [_load_cert(entry["trust_anchor"])],
        "intermediates": [_load_cert(p) for p in entry["intermediates"]],
        "crls": [_load_crl(p) for p in entry["crls"]],
        "at": at,
        "policy": policy,
    }
    if entry["expected"] == "valid":
        result = validate(ee, **kwargs)
        expected = entry.get("expected_user_constrained_policy_set")
        if expected is not None:
            got = {o.dotted_string for o in result.user_constrained_policy_set}
            assert got == set(expected)
    else:
        with pytest.raises(ValidationError):
            validate(ee, **kwargs)
