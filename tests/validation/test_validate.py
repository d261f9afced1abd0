"""Generated chains: purposes, host names, algorithms, path building, constraints."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from trustkit.errors import (
    DisallowedAlgorithmError,
    InvalidPurposeError,
    PathBuildingError,
    PathValidationError,
    ValidationError,
    ValidationLimitError,
)
from trustkit.testing import openssl_verify
from trustkit.validation import (
    ANY_POLICY,
    AlgorithmPolicy,
    Purpose,
    ValidationPolicy,
    ValidationResult,
    validate,
)

from .conftest import AT, NOT_AFTER, NOT_BEFORE, Node, Pki, issue, ku, leaf, name, resign_sha1


def _validate(pki: Pki, ee: Node, **kw: Any) -> ValidationResult:
    return validate(
        ee.cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT, **kw
    )


# --- the happy path and its twins ----------------------------------------------------------


def test_valid_chain_end_entity_first(pki: Pki) -> None:
    ee = pki.make_leaf()
    result = validate(ee.cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)
    assert result.path == (ee.cert, pki.inter.cert, pki.root.cert)
    assert result.user_constrained_policy_set == frozenset()  # no policies asserted
    assert [e.index for e in result.revocation] == [0, 1]


def test_wrong_root_fails(pki: Pki) -> None:
    other = issue("Test Root CA", None, ca=True)  # same name, other key
    with pytest.raises(PathBuildingError) as info:
        validate(
            pki.make_leaf().cert,
            trust_anchors=[other.cert],
            intermediates=[pki.inter.cert],
            at=AT,
        )
    assert info.value.index == 1


def test_tampered_signature_fails(pki: Pki) -> None:
    der = bytearray(pki.make_leaf().cert.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01
    tampered = x509.load_der_x509_certificate(bytes(der))
    with pytest.raises(PathBuildingError):
        validate(tampered, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)


def test_expired_leaf_fails_with_index(pki: Pki) -> None:
    ee = pki.make_leaf(not_after=AT - timedelta(days=1))
    with pytest.raises(PathValidationError) as info:
        _validate(pki, ee)
    assert info.value.index == 0
    assert "expired" in str(info.value)


def test_anchor_expiry_checked_unless_told_not_to() -> None:
    root = issue("Old Root", None, ca=True, not_after=AT - timedelta(days=1))
    ee = leaf(root)
    with pytest.raises(PathValidationError, match="trust anchor is not valid") as info:
        validate(ee.cert, trust_anchors=[root.cert], at=AT)
    assert info.value.index == 1
    lenient = ValidationPolicy(check_anchor_validity=False)
    assert validate(ee.cert, trust_anchors=[root.cert], at=AT, policy=lenient).path[-1] == root.cert


# --- purposes ---------------------------------------------------------------------------

DS = ku(digital_signature=True)
CC = ku(content_commitment=True)
KE = ku(key_encipherment=True)

PURPOSE_CASES = [
    # purpose, good (ku, eku, eku critical), bad twin (ku, eku, eku critical)
    (Purpose.TLS_SERVER, (DS, [EKU.SERVER_AUTH], False), (DS, [EKU.CLIENT_AUTH], False)),
    (Purpose.TLS_CLIENT, (DS, [EKU.CLIENT_AUTH], False), (KE, [EKU.CLIENT_AUTH], False)),
    (Purpose.CITIZEN_AUTH, (DS, [EKU.CLIENT_AUTH], False), (DS, None, False)),
    (Purpose.DOCUMENT_SIGNING, (CC, [EKU.EMAIL_PROTECTION], False), (KE, None, False)),
    (Purpose.CODE_SIGNING, (DS, [EKU.CODE_SIGNING], False), (DS, [EKU.SERVER_AUTH], False)),
    (Purpose.TIMESTAMPING, (DS, [EKU.TIME_STAMPING], True), (DS, [EKU.TIME_STAMPING], False)),
    (Purpose.OCSP_SIGNING, (DS, [EKU.OCSP_SIGNING], False), (DS, [EKU.SERVER_AUTH], False)),
]


@pytest.mark.parametrize(
    ("purpose", "good", "bad"), PURPOSE_CASES, ids=[c[0].value for c in PURPOSE_CASES]
)
def test_purpose_and_wrong_purpose_twin(
    pki: Pki,
    purpose: Purpose,
    good: tuple[x509.KeyUsage, list[x509.ObjectIdentifier] | None, bool],
    bad: tuple[x509.KeyUsage, list[x509.ObjectIdentifier] | None, bool],
) -> None:
    ok = pki.make_leaf(key_usage=good[0], eku=good[1], eku_critical=good[2])
    assert _validate(pki, ok, purpose=purpose)
    twin = pki.make_leaf(key_usage=bad[0], eku=bad[1], eku_critical=bad[2])
    with pytest.raises(InvalidPurposeError) as info:
        _validate(pki, twin, purpose=purpose)
    assert info.value.index == 0
    assert purpose.value in str(info.value)
    # Purpose.ANY accepts both.
    assert _validate(pki, twin, purpose=Purpose.ANY)


def test_document_signing_accepts_absent_eku_and_digital_signature(pki: Pki) -> None:
    assert _validate(pki, pki.make_leaf(key_usage=DS, eku=None), purpose=Purpose.DOCUMENT_SIGNING)


def test_ca_eku_chaining(pki: Pki) -> None:
    inter = issue("Client-only CA", pki.root, ca=True, eku=[EKU.CLIENT_AUTH])
    ee = leaf(inter)
    with pytest.raises(InvalidPurposeError) as info:
        validate(
            ee.cert,
            trust_anchors=[pki.root.cert],
            intermediates=[inter.cert],
            at=AT,
            purpose=Purpose.TLS_SERVER,
        )
    assert info.value.index == 1


# --- host names (RFC 9525) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("dns", "ips", "hostname"),
    [
        (["www.example.gov"], [], "www.example.gov"),
        (["WWW.Example.GOV"], [], "www.example.gov."),
        (["*.example.gov"], [], "portal.example.gov"),
        (["xn--bcher-kva.example"], [], "bücher.example"),
        ([], ["192.0.2.7"], "192.0.2.7"),
        ([], ["2001:db8::1"], "2001:db8:0::1"),
    ],
)
def test_hostname_matches(pki: Pki, dns: list[str], ips: list[str], hostname: str) -> None:
    ee = pki.make_leaf(dns=dns, ips=ips)
    assert _validate(pki, ee, purpose=Purpose.TLS_SERVER, hostname=hostname)


@pytest.mark.parametrize(
    ("dns", "ips", "hostname"),
    [
        (["www.example.gov"], [], "mail.example.gov"),
        (["*.example.gov"], [], "example.gov"),
        (["*.example.gov"], [], "a.b.example.gov"),
        (["w*.example.gov"], [], "www.example.gov"),
        (["*.gov"], [], "example.gov"),
        (["192.0.2.7"], [], "192.0.2.7"),
        ([], ["192.0.2.7"], "192.0.2.8"),
        (["xn--bcher-kva.example"], [], "bucher.example"),
    ],
)
def test_hostname_mismatch(pki: Pki, dns: list[str], ips: list[str], hostname: str) -> None:
    ee = pki.make_leaf(dns=dns, ips=ips)
    with pytest.raises(InvalidPurposeError):
        _validate(pki, ee, purpose=Purpose.TLS_SERVER, hostname=hostname)


def test_hostname_needs_tls_server(pki: Pki) -> None:
    with pytest.raises(ValueError, match="hostname"):
        _validate(pki, pki.make_leaf(), purpose=Purpose.TLS_CLIENT, hostname="x.example")


# --- algorithm policy --------------------------------------------------------------------


def test_sha1_refused_by_default_accepted_under_legacy(rsa_pki: Pki) -> None:
    ee = rsa_pki.make_leaf()
    assert isinstance(rsa_pki.inter.key, rsa.RSAPrivateKey)
    sha1 = resign_sha1(ee.cert, rsa_pki.inter.key)
    assert sha1.signature_hash_algorithm is not None
    assert sha1.signature_hash_algorithm.name == "sha1"
    kw: dict[str, Any] = {
        "trust_anchors": [rsa_pki.root.cert],
        "intermediates": [rsa_pki.inter.cert],
        "at": AT,
    }
    with pytest.raises(DisallowedAlgorithmError) as info:
        validate(sha1, **kw)
    assert info.value.index == 0 and "SHA1" in str(info.value)
    legacy = ValidationPolicy(algorithms=AlgorithmPolicy.legacy())
    assert validate(sha1, policy=legacy, **kw)
    assert validate(ee.cert, **kw)


def test_small_rsa_key_refused_by_default(pki: Pki) -> None:
    weak = pki.make_leaf(key=rsa.generate_private_key(65537, 1024))
    with pytest.raises(DisallowedAlgorithmError, match="1024"):
        _validate(pki, weak)
    assert _validate(pki, weak, policy=ValidationPolicy(algorithms=AlgorithmPolicy.legacy()))


# --- path building -----------------------------------------------------------------------


def test_decoy_issuer_same_name_wrong_key(pki: Pki) -> None:
    decoy = issue("Test Issuing CA", pki.root, ca=True)  # same name, other key
    ee = pki.make_leaf()
    result = validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[decoy.cert, pki.inter.cert],
        at=AT,
    )
    assert result.path[1] == pki.inter.cert
    with pytest.raises(PathBuildingError, match="signature"):
        validate(ee.cert, trust_anchors=[pki.root.cert], intermediates=[decoy.cert], at=AT)


def test_cross_certificate(pki: Pki) -> None:
    new_root = issue("New Root CA", None, ca=True)
    # The old root cross-certified by the new one: same subject and key as the old root.
    cross = issue("Test Root CA", new_root, ca=True, key=pki.root.key)
    ee = pki.make_leaf()
    result = validate(
        ee.cert,
        trust_anchors=[new_root.cert],
        intermediates=[pki.inter.cert, cross.cert],
        at=AT,
    )
    assert result.path == (ee.cert, pki.inter.cert, cross.cert, new_root.cert)
    with pytest.raises(PathBuildingError):
        validate(ee.cert, trust_anchors=[new_root.cert], intermediates=[pki.inter.cert], at=AT)


def test_loop_terminates() -> None:
    key_a, key_b = issue("A", None).key, issue("B", None).key
    a_template = issue("A", None, key=key_a, ca=True)
    b = issue("B", a_template, ca=True, key=key_b)
    a = issue("A", b, ca=True, key=key_a)  # A issued by B, B issued by A
    stranger = issue("Stranger Root", None, ca=True)
    ee = leaf(a)
    with pytest.raises(PathBuildingError):
        validate(ee.cert, trust_anchors=[stranger.cert], intermediates=[a.cert, b.cert], at=AT)


def test_hundred_twins_and_the_work_bound(pki: Pki) -> None:
    twins = [issue("Test Issuing CA", pki.root, ca=True, key=pki.inter.key) for _ in range(100)]
    ee = pki.make_leaf()
    # Many certificates with one subject and key: any of them gives a path.
    assert validate(
        ee.cert, trust_anchors=[pki.root.cert], intermediates=[t.cert for t in twins], at=AT
    )
    decoys = [issue("Test Issuing CA", pki.root, ca=True) for _ in range(30)]
    with pytest.raises(ValidationLimitError, match="max_work"):
        validate(
            ee.cert,
            trust_anchors=[pki.root.cert],
            intermediates=[d.cert for d in decoys],
            at=AT,
            policy=ValidationPolicy(max_work=20),
        )


def test_depth_limit(pki: Pki) -> None:
    chain = [pki.root]
    for i in range(5):
        chain.append(issue(f"Level {i}", chain[-1], ca=True))
    ee = leaf(chain[-1])
    pool = [n.cert for n in chain[1:]]
    assert validate(ee.cert, trust_anchors=[pki.root.cert], intermediates=pool, at=AT)
    with pytest.raises(PathBuildingError, match="length"):
        validate(
            ee.cert,
            trust_anchors=[pki.root.cert],
            intermediates=pool,
            at=AT,
            policy=ValidationPolicy(max_intermediates=4),
        )


# --- RFC 5280 6.1 checks -----------------------------------------------------------------


def test_path_length_constraint(pki: Pki) -> None:
    # pki.inter has pathLenConstraint 0: no CA may follow it.
    sub = issue("Sub CA", pki.inter, ca=True)
    ee = leaf(sub)
    with pytest.raises(PathValidationError, match="pathLenConstraint") as info:
        validate(
            ee.cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert, sub.cert], at=AT
        )
    assert info.value.index == 1


def test_ca_without_key_cert_sign(pki: Pki) -> None:
    inter = issue("No Signing CA", pki.root, ca=True, key_usage=ku(crl_sign=True))
    with pytest.raises(PathValidationError, match="keyCertSign"):
        validate(leaf(inter).cert, trust_anchors=[pki.root.cert], intermediates=[inter.cert], at=AT)


def test_end_entity_as_ca_refused(pki: Pki) -> None:
    not_ca = pki.make_leaf()
    ee = leaf(not_ca)
    with pytest.raises(ValidationError, match="cA"):
        validate(
            ee.cert,
            trust_anchors=[pki.root.cert],
            intermediates=[pki.inter.cert, not_ca.cert],
            at=AT,
        )


def test_unknown_critical_extension(pki: Pki) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    ee = pki.make_leaf(extra=[(odd, True)])
    with pytest.raises(PathValidationError, match=r"1\.3\.6\.1\.4\.1\.55555\.1"):
        _validate(pki, ee)
    assert _validate(pki, pki.make_leaf(extra=[(odd, False)]))


def test_policies_and_explicit_policy(pki: Pki) -> None:
    p1 = x509.ObjectIdentifier("1.3.6.1.4.1.55555.2.1")
    p2 = x509.ObjectIdentifier("1.3.6.1.4.1.55555.2.2")
    any_policy = x509.CertificatePolicies([x509.PolicyInformation(ANY_POLICY, None)])
    inter = issue("Policy CA", pki.root, ca=True, extra=[(any_policy, False)])
    ee = leaf(inter, extra=[(x509.CertificatePolicies([x509.PolicyInformation(p1, None)]), False)])
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    result = validate(ee.cert, **kw)
    assert result.user_constrained_policy_set == {p1}
    strict = ValidationPolicy(initial_policy_set=frozenset({p2}), initial_explicit_policy=True)
    with pytest.raises(PathValidationError, match="policy"):
        validate(ee.cert, policy=strict, **kw)


# --- name constraints, with openssl as the independent judge ----------------------------


def _nc_chain(pki: Pki, dns: str) -> tuple[Node, Node]:
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            x509.DNSName("example.gov"),
            x509.IPAddress(ipaddress.ip_network("192.0.2.0/24")),
        ],
        excluded_subtrees=[x509.DNSName("secret.example.gov")],
    )
    inter = issue("Constrained CA", pki.root, ca=True, name_constraints=constraints)
    return inter, leaf(inter, dns=[dns])


@pytest.mark.parametrize(
    ("dns", "ok"),
    [
        ("www.example.gov", True),
        ("www.example.com", False),
        ("x.secret.example.gov", False),
        ("badexample.gov", False),
        # A wildcard stands for every host it matches: *.example.gov matches the excluded
        # secret.example.gov (CVE-2025-61727); *.www.example.gov cannot reach it.
        ("*.example.gov", False),
        ("*.www.example.gov", True),
        ("*.secret.example.gov", False),
    ],
)
def test_dns_name_constraints(pki: Pki, dns: str, ok: bool) -> None:
    inter, ee = _nc_chain(pki, dns)
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    if ok:
        assert validate(ee.cert, **kw)
    else:
        with pytest.raises(PathValidationError, match="name constraints") as info:
            validate(ee.cert, **kw)
        assert info.value.index == 0


@pytest.mark.parametrize(
    ("san", "why"),
    [
        (x509.DNSName(".example.gov"), "is not a host name"),
        (x509.DNSName("www..example.gov"), "is not a host name"),
        (x509.DNSName("www.*.example.gov"), "is not a host name"),
        (x509.RFC822Name("clerk.office@example.gov"), "is not a mailbox"),  # made "@" below
        (x509.IPAddress(ipaddress.ip_network("192.0.2.0/28")), "is a network, not an address"),
    ],
)
def test_malformed_names_cannot_meet_constraints(pki: Pki, san: x509.GeneralName, why: str) -> None:
    # Each sits lexically inside a permitted subtree, and would pass a naive suffix check.
    constraints = x509.NameConstraints(
        permitted_subtrees=[
            x509.DNSName("example.gov"),
            x509.RFC822Name("example.gov"),
            x509.IPAddress(ipaddress.ip_network("192.0.2.0/24")),
        ],
        excluded_subtrees=None,
    )
    inter = issue("Constrained CA", pki.root, ca=True, name_constraints=constraints)
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    names = x509.SubjectAlternativeName([x509.DNSName("www.example.gov"), san])
    # cryptography will not make a mailbox with two "@"; the encoding is edited instead.
    der = names.public_bytes().replace(b"clerk.office@", b"clerk@office@")
    san_ext = x509.UnrecognizedExtension(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, der)
    bad = issue("leaf.example.gov", inter, key_usage=DS, extra=[(san_ext, False)])
    with pytest.raises(PathValidationError, match=why) as info:
        validate(bad.cert, **kw)
    assert info.value.index == 0
    # The twin without the malformed name passes, and so does the name unconstrained.
    assert validate(leaf(inter, dns=["www.example.gov"]).cert, **kw)
    free = issue("Free CA", pki.root, ca=True)
    loose = issue("leaf.example.gov", free, key_usage=DS, extra=[(san_ext, False)])
    assert validate(loose.cert, trust_anchors=[pki.root.cert], intermediates=[free.cert], at=AT)


@pytest.mark.parametrize(
    ("where", "dns", "ok"),
    [
        ("permitted", "www.example.gov", True),
        ("permitted", "a.b.example.gov", True),
        ("permitted", "*.example.gov", True),
        ("permitted", "example.gov", False),
        ("permitted", "badexample.gov", False),
        ("excluded", "www.example.gov", False),
        ("excluded", "*.example.gov", False),
        ("excluded", "example.gov", True),
    ],
)
def test_leading_period_dns_constraint_means_names_below(
    pki: Pki, where: str, dns: str, ok: bool
) -> None:
    # RFC 5280 4.2.1.10 writes a leading period for URI and e-mail bases only; OpenSSL,
    # Go and NSS read ".example.gov" as a dNSName base the same way: the names below
    # example.gov, not example.gov itself. OpenSSL is the independent judge here.
    base = [x509.DNSName(".example.gov")]
    constraints = x509.NameConstraints(
        permitted_subtrees=base if where == "permitted" else None,
        excluded_subtrees=base if where == "excluded" else None,
    )
    inter = issue("Dotted CA", pki.root, ca=True, name_constraints=constraints)
    ee = leaf(inter, dns=[dns])
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    if ok:
        assert validate(ee.cert, **kw)
    else:
        with pytest.raises(PathValidationError, match="name constraints"):
            validate(ee.cert, **kw)
    if "*" not in dns:  # OpenSSL does not match wildcards against name constraints
        judged = openssl_verify(pki.root.cert, [inter.cert], ee.cert, at=AT)
        assert judged.ok is ok, judged.output


@pytest.mark.parametrize("base", ["..example.gov", ".", ".-example.gov"])
def test_malformed_dotted_dns_constraint_lets_nothing_through(pki: Pki, base: str) -> None:
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(base)], excluded_subtrees=None
    )
    inter = issue("Dotted CA", pki.root, ca=True, name_constraints=constraints)
    ee = leaf(inter, dns=["www.example.gov"])
    with pytest.raises(PathValidationError, match="not a host name"):
        validate(ee.cert, trust_anchors=[pki.root.cert], intermediates=[inter.cert], at=AT)


def test_the_shorter_of_two_paths_is_built_first(pki: Pki) -> None:
    # The same issuing CA (name and key) certified by the root and by another CA: the
    # certificate an anchor issued is tried first, so the path is the shorter one.
    other = issue("Other CA", pki.root, ca=True)
    longer = issue("Cross CA", other, ca=True)
    shorter = issue("Cross CA", pki.root, ca=True, key=longer.key)
    ee = leaf(longer)
    result = validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[longer.cert, other.cert, shorter.cert],
        at=AT,
    )
    assert result.path == (ee.cert, shorter.cert, pki.root.cert)
    # The twin: without the short certificate, the longer path is found.
    result = validate(
        ee.cert, trust_anchors=[pki.root.cert], intermediates=[longer.cert, other.cert], at=AT
    )
    assert result.path == (ee.cert, longer.cert, other.cert, pki.root.cert)


def test_an_unparsable_decoy_in_the_pool_does_not_stop_the_good_path(pki: Pki) -> None:
    # nameConstraints with an iPAddress base of 4 octets (an address, no mask), which
    # cryptography reports with a TypeError; the decoy has the issuing CA's name.
    nc_der = bytes.fromhex("300aa0083006" + "8704c0000201")
    odd = x509.UnrecognizedExtension(x509.oid.ExtensionOID.NAME_CONSTRAINTS, nc_der)
    decoy = issue(pki.inter.cert.subject, pki.root, ca=True, extra=[(odd, True)])
    good = validate(
        pki.make_leaf().cert,
        trust_anchors=[pki.root.cert],
        intermediates=[decoy.cert, pki.inter.cert],
        at=AT,
        purpose=Purpose.TLS_SERVER,
    )
    assert good.path[1] == pki.inter.cert
    # Through the decoy alone, the path fails on that certificate, with a message.
    with pytest.raises(ValidationError, match="cannot be parsed"):
        validate(leaf(decoy).cert, trust_anchors=[pki.root.cert], intermediates=[decoy.cert], at=AT)


def test_ip_name_constraints(pki: Pki) -> None:
    inter, _ = _nc_chain(pki, "www.example.gov")
    inside = leaf(inter, dns=["www.example.gov"], ips=["192.0.2.9"])
    outside = leaf(inter, dns=["www.example.gov"], ips=["198.51.100.1"])
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    assert validate(inside.cert, **kw)
    with pytest.raises(PathValidationError, match=r"198\.51\.100\.1"):
        validate(outside.cert, **kw)


def _pem(path: Path, certs: list[x509.Certificate]) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@pytest.mark.interop
@pytest.mark.parametrize(("dns", "ok"), [("www.example.gov", True), ("www.example.com", False)])
def test_name_constraints_agree_with_openssl(pki: Pki, tmp_path: Path, dns: str, ok: bool) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not installed")
    inter, ee = _nc_chain(pki, dns)
    run = subprocess.run(
        [
            openssl,
            "verify",
            "-attime",
            str(int(AT.timestamp())),
            "-CAfile",
            str(_pem(tmp_path / "root.pem", [pki.root.cert])),
            "-untrusted",
            str(_pem(tmp_path / "inter.pem", [inter.cert])),
            str(_pem(tmp_path / "ee.pem", [ee.cert])),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode == 0) is ok, run.stdout + run.stderr
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [inter.cert], "at": AT}
    if ok:
        assert validate(ee.cert, **kw)
    else:
        with pytest.raises(PathValidationError):
            validate(ee.cert, **kw)


def test_email_in_subject_is_constrained(pki: Pki) -> None:
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.RFC822Name("example.gov")], excluded_subtrees=None
    )
    inter = issue("Mail CA", pki.root, ca=True, name_constraints=constraints)
    subject = x509.Name(
        [
            *name("Citizen").rdns,
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(x509.oid.NameOID.EMAIL_ADDRESS, "citizen@example.com")]
            ),
        ]
    )
    ee = issue(subject, inter, key_usage=DS)
    with pytest.raises(PathValidationError, match=r"citizen@example\.com"):
        validate(ee.cert, trust_anchors=[pki.root.cert], intermediates=[inter.cert], at=AT)


def test_name_chaining_is_case_and_space_insensitive(pki: Pki) -> None:
    ee = issue("leaf", None, key_usage=DS)  # placeholder to get a key
    issuer_name = x509.Name(
        [
            x509.NameAttribute(x509.oid.NameOID.COUNTRY_NAME, "EE"),
            x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "trustkit   TEST"),
            x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "test issuing ca"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("leaf"))
        .issuer_name(issuer_name)
        .public_key(ee.key.public_key())
        .serial_number(77)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(pki.inter.key, hashes.SHA256())
    )
    assert validate(cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)
    wrong = (
        x509.CertificateBuilder()
        .subject_name(name("leaf"))
        .issuer_name(name("Test Issuing"))
        .public_key(ee.key.public_key())
        .serial_number(78)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(pki.inter.key, hashes.SHA256())
    )
    with pytest.raises(PathBuildingError):
        validate(wrong, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT)


def test_trust_anchor_with_unknown_critical_extension(pki: Pki) -> None:
    # RFC 5280 4.2: the anchor's extensions are acted on, so none may be left unread.
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.7"), b"\x05\x00")
    critical = issue("Odd Root", None, ca=True, extra=[(odd, True)])
    with pytest.raises(PathValidationError, match="trust anchor") as info:
        validate(leaf(critical).cert, trust_anchors=[critical.cert], at=AT)
    assert info.value.index == 1
    plain = issue("Plain Root", None, ca=True, extra=[(odd, False)])
    assert validate(leaf(plain).cert, trust_anchors=[plain.cert], at=AT)


def test_building_reports_the_deepest_failure(pki: Pki) -> None:
    # A self-issued rollover certificate over a path-length bound: the reason given is the
    # bound at certificate 1, not the leaf's failed try of the other same-named CA.
    old = issue("Rollover CA", pki.root, ca=True)
    new = issue("Rollover CA", old, ca=True)
    ee = leaf(new)
    kw: dict[str, Any] = {
        "trust_anchors": [pki.root.cert],
        "intermediates": [old.cert, new.cert],
        "at": AT,
    }
    with pytest.raises(PathBuildingError, match="certificate 1: path length limit of 1") as info:
        validate(ee.cert, policy=ValidationPolicy(max_intermediates=1), **kw)
    assert info.value.index == 1
    assert len(validate(ee.cert, **kw).path) == 4


def test_signature_algorithm_mismatch_refused(rsa_pki: Pki) -> None:
    ee = rsa_pki.make_leaf()
    key = rsa_pki.inter.key
    assert isinstance(key, rsa.RSAPrivateKey)
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")
    sha384_rsa = bytes.fromhex("2a864886f70d01010c")
    der = ee.cert.public_bytes(serialization.Encoding.DER)
    # The TBS copy of the algorithm comes first; the outer signatureAlgorithm stays SHA-256.
    changed = x509.load_der_x509_certificate(der.replace(sha256_rsa, sha384_rsa, 1))
    signature = key.sign(changed.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256())
    raw = changed.public_bytes(serialization.Encoding.DER)
    mismatched = x509.load_der_x509_certificate(raw[: -len(signature)] + signature)
    kw: dict[str, Any] = {
        "trust_anchors": [rsa_pki.root.cert],
        "intermediates": [rsa_pki.inter.cert],
        "at": AT,
    }
    with pytest.raises(PathValidationError, match=r"4\.1\.1\.2") as info:
        validate(mismatched, **kw)
    assert info.value.index == 0
    assert validate(ee.cert, **kw)
