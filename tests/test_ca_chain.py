"""Issuance honours the constraints of the whole chain above the issuing CA.

A CA issues only what path validation of the resulting chain would accept for
the profile's purpose at notBefore: every CA's pathLenConstraint, name
constraints and policy constraints, and the validity of every CA above. Each
refusal has a twin that is issued, and the certificates a careless CA would have
made (built here with cryptography directly, as the old code would have signed
them) are shown to be refused by ``openssl verify`` and by trustkit's validator.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from trustkit.ca import CertificateAuthority, Enrollment
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.errors import BatchPolicyViolation, PathValidationError, PolicyViolation
from trustkit.keys import PrivateKey, generate_key, signature_hash_for
from trustkit.names import parse_general_names, parse_name, parse_name_constraint
from trustkit.policy import IssuanceWarning
from trustkit.testing import openssl_verify
from trustkit.validation import Purpose, validate

PASS = b"correct horse battery staple"
ROOT = "CN=Republic of Example Root CA,O=Republic of Example,C=EX"


def _csr(subject: str, *sans: str, key: PrivateKey | None = None) -> x509.CertificateSigningRequest:
    return create_csr(key or generate_key(), parse_name(subject), parse_general_names(sans))


def _permit(*bases: str) -> x509.NameConstraints:
    return x509.NameConstraints(
        permitted_subtrees=[parse_name_constraint(b) for b in bases], excluded_subtrees=None
    )


def _raw(
    issuer: CertificateAuthority,
    subject: str,
    *,
    at: datetime,
    ca: bool = False,
    path_length: int | None = None,
    dns: tuple[str, ...] = (),
    name_constraints: x509.NameConstraints | None = None,
    key: PrivateKey | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """What an issuer that checks nothing signs: the mis-issued certificates of the issue."""
    key = key or generate_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(parse_name(subject))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at)
        .not_valid_after(at + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )
    if ca:
        usage = {"key_cert_sign": True, "crl_sign": True, "digital_signature": True}
    else:
        usage = {"key_cert_sign": False, "crl_sign": False, "digital_signature": True}
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False
        )
    if name_constraints is not None:
        builder = builder.add_extension(name_constraints, critical=True)
    return builder.sign(issuer.key, signature_hash_for(issuer.key)), key


@pytest.fixture
def root(tmp_path: Path, clock: FixedClock) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        ROOT, tmp_path / "root", passphrase=PASS, base_url="http://pki.example.gov", clock=clock
    )


@pytest.fixture
def tls_ca(root: CertificateAuthority, tmp_path: Path) -> CertificateAuthority:
    """The issuing CA of the issue: pathLen 0, permitted dns:example.gov."""
    return root.create_subordinate(
        "CN=TLS CA,O=Republic of Example,C=EX",
        tmp_path / "tls",
        passphrase=PASS,
        path_length=0,
        name_constraints=_permit("dns:example.gov"),
    )


@pytest.fixture
def mid(root: CertificateAuthority, tmp_path: Path) -> CertificateAuthority:
    """A CA with room for one CA below it, permitted dns:example.gov."""
    return root.create_subordinate(
        "CN=Policy CA,O=Republic of Example,C=EX",
        tmp_path / "mid",
        passphrase=PASS,
        path_length=1,
        name_constraints=_permit("dns:example.gov"),
    )


# --- item 1: pathLenConstraint -------------------------------------------------------


def test_a_ca_with_path_length_zero_makes_no_subordinate(
    tls_ca: CertificateAuthority, tmp_path: Path
) -> None:
    with pytest.raises(PolicyViolation, match=r"leaves no room for another CA") as info:
        tls_ca.create_subordinate(
            "CN=X,O=R,C=EX",
            tmp_path / "x",
            passphrase=PASS,
            name_constraints=_permit("dns:evil.com"),
        )
    fields = {v.field for v in info.value.violations}
    assert "basicConstraints" in fields
    assert not (tmp_path / "x").exists()
    assert [r.profile for r in tls_ca.list()] == []  # nothing signed, nothing stored


@pytest.mark.parametrize("profile", ["root-ca", "sub-ca"])
def test_a_ca_with_path_length_zero_issues_no_ca_certificate(
    tls_ca: CertificateAuthority, profile: str
) -> None:
    with pytest.raises(PolicyViolation, match="pathLenConstraint"):
        tls_ca.issue(_csr("CN=Rogue CA,C=EX"), profile)
    # The twin: the same CA still issues end entities.
    tls_ca.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")


def test_the_path_length_of_a_new_ca_is_fitted_to_the_chain(mid: CertificateAuthority) -> None:
    # "root-ca" has no pathLenConstraint of its own; under mid (pathLen 1) it gets 0.
    issued = mid.issue(_csr("CN=Deep CA,C=EX"), "root-ca")
    bc = issued.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    # One asked for explicitly is not lowered but refused.
    with pytest.raises(PolicyViolation, match=r"pathLenConstraint: 1 is more than the 0"):
        mid.issue(_csr("CN=Deep CA,C=EX"), "sub-ca", path_length=1)


def test_openssl_and_trustkit_refuse_what_path_length_zero_forbids(
    root: CertificateAuthority, tls_ca: CertificateAuthority, clock: FixedClock
) -> None:
    at = clock.now()
    rogue, rogue_key = _raw(tls_ca, "CN=Rogue CA,C=EX", at=at, ca=True)
    rogue_ca = CertificateAuthority(
        tls_ca.directory, tls_ca.config, rogue, (tls_ca.certificate, root.certificate),
        tls_ca.store, key=rogue_key, clock=clock,
    )  # fmt: skip
    leaf, _ = _raw(rogue_ca, "CN=www.example.gov", at=at, dns=("www.example.gov",))
    judged = openssl_verify(root.certificate, [tls_ca.certificate, rogue], leaf, at=at)
    assert not judged.ok and "path length" in judged.output.lower(), judged.output
    with pytest.raises(PathValidationError, match="pathLenConstraint"):
        validate(leaf, trust_anchors=[root.certificate], intermediates=[tls_ca.certificate, rogue], at=at)  # fmt: skip  # noqa: E501
    # The twin: the leaf straight from the CA verifies with both.
    good, _ = _raw(tls_ca, "CN=www.example.gov", at=at, dns=("www.example.gov",))
    assert openssl_verify(root.certificate, [tls_ca.certificate], good, at=at).ok
    anchors = [root.certificate]
    assert validate(good, trust_anchors=anchors, intermediates=[tls_ca.certificate], at=at)


def test_a_root_with_path_length_zero_makes_no_subordinate(
    tmp_path: Path, clock: FixedClock
) -> None:
    # RFC 5280 4.2.1.9: pathLenConstraint 0 lets no intermediate follow, the root's too.
    root = CertificateAuthority.create_root(
        ROOT, tmp_path / "root0", passphrase=PASS, path_length=0, clock=clock
    )
    with pytest.raises(PolicyViolation, match="leaves no room"):
        root.create_subordinate("CN=Sub CA,C=EX", tmp_path / "sub", passphrase=PASS)
    at = clock.now()
    sub, sub_key = _raw(root, "CN=Sub CA,C=EX", at=at, ca=True)
    sub_ca = CertificateAuthority(
        root.directory, root.config, sub, (root.certificate,), root.store, key=sub_key, clock=clock
    )
    leaf, _ = _raw(sub_ca, "CN=www.example.gov", at=at, dns=("www.example.gov",))
    assert not openssl_verify(root.certificate, [sub], leaf, at=at).ok
    with pytest.raises(PathValidationError, match="pathLenConstraint"):
        validate(leaf, trust_anchors=[root.certificate], intermediates=[sub], at=at)
    # The twin: a root with pathLen 1 makes one.
    root1 = CertificateAuthority.create_root(
        ROOT, tmp_path / "root1", passphrase=PASS, path_length=1, clock=clock
    )
    made = root1.create_subordinate("CN=Sub CA,C=EX", tmp_path / "sub1", passphrase=PASS)
    leaf = made.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    assert openssl_verify(root1.certificate, [made.certificate], leaf.certificate, at=at).ok


# --- item 1: name constraints of every CA above ----------------------------------------


def test_a_subordinate_without_constraints_is_held_to_those_above(
    mid: CertificateAuthority, tmp_path: Path
) -> None:
    free = mid.create_subordinate("CN=Free CA,C=EX", tmp_path / "free", passphrase=PASS)
    assert not any(isinstance(e.value, x509.NameConstraints) for e in free.certificate.extensions)
    with pytest.raises(PolicyViolation, match=r"dns:www\.evil\.com is outside the permitted"):
        free.issue(_csr("CN=www.evil.com", "dns:www.evil.com"), "tls-server")
    with pytest.raises(BatchPolicyViolation) as info:
        free.issue_many(
            [
                Enrollment(_csr("CN=www.example.gov", "dns:www.example.gov")),
                Enrollment(_csr("CN=www.evil.com", "dns:www.evil.com")),
            ]
        )
    assert list(info.value.failures) == [1]
    issued = free.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    assert [r.serial for r in free.list()] == [issued.serial]


def test_openssl_refuses_what_the_constraints_above_forbid(
    root: CertificateAuthority, mid: CertificateAuthority, tmp_path: Path, clock: FixedClock
) -> None:
    at = clock.now()
    free = mid.create_subordinate("CN=Free CA,C=EX", tmp_path / "free", passphrase=PASS)
    evil, _ = _raw(free, "CN=www.evil.com", at=at, dns=("www.evil.com",))
    chain = [free.certificate, mid.certificate]
    judged = openssl_verify(root.certificate, chain, evil, at=at)
    assert not judged.ok and "subtree" in judged.output, judged.output
    good = free.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    assert openssl_verify(root.certificate, chain, good.certificate, at=at).ok


def test_a_new_cas_constraints_must_lie_inside_its_issuers(
    root: CertificateAuthority, mid: CertificateAuthority, tmp_path: Path, clock: FixedClock
) -> None:
    with pytest.raises(
        PolicyViolation, match=r"permitted subtree dns:evil\.com is outside"
    ) as info:
        mid.create_subordinate(
            "CN=X,O=R,C=EX",
            tmp_path / "x",
            passphrase=PASS,
            name_constraints=_permit("dns:evil.com"),
        )
    assert [v.field for v in info.value.violations] == ["nameConstraints"]
    # What it would have been: openssl refuses the name it was made for.
    at = clock.now()
    wide, wide_key = _raw(mid, "CN=X,O=R,C=EX", at=at, ca=True, path_length=0,
                          name_constraints=_permit("dns:evil.com"))  # fmt: skip
    wide_ca = CertificateAuthority(
        mid.directory, mid.config, wide, (mid.certificate, root.certificate), mid.store,
        key=wide_key, clock=clock,
    )  # fmt: skip
    leaf, _ = _raw(wide_ca, "CN=www.evil.com", at=at, dns=("www.evil.com",))
    assert not openssl_verify(root.certificate, [wide, mid.certificate], leaf, at=at).ok
    # The twins: narrower constraints are issued, and so is a dotted base inside.
    narrow = mid.create_subordinate(
        "CN=Y,O=R,C=EX", tmp_path / "y", passphrase=PASS,
        name_constraints=_permit("dns:www.example.gov", "dns:.portal.example.gov"),
    )  # fmt: skip
    leaf2 = narrow.issue(_csr("CN=a.portal.example.gov", "dns:a.portal.example.gov"), "tls-server")
    assert openssl_verify(
        root.certificate, [narrow.certificate, mid.certificate], leaf2.certificate, at=at
    ).ok


def test_a_new_ca_inside_an_excluded_subtree_is_refused(
    root: CertificateAuthority, tmp_path: Path
) -> None:
    guarded = root.create_subordinate(
        "CN=Guarded CA,C=EX", tmp_path / "g", passphrase=PASS, path_length=1,
        name_constraints=x509.NameConstraints(
            permitted_subtrees=None, excluded_subtrees=[x509.DNSName("secret.example.gov")]
        ),
    )  # fmt: skip
    with pytest.raises(PolicyViolation, match="inside the issuer's excluded subtree"):
        guarded.create_subordinate(
            "CN=S,C=EX", tmp_path / "s", passphrase=PASS,
            name_constraints=_permit("dns:a.secret.example.gov"),
        )  # fmt: skip
    guarded.create_subordinate(
        "CN=P,C=EX", tmp_path / "p", passphrase=PASS, name_constraints=_permit("dns:example.gov")
    )


@pytest.mark.parametrize(
    ("base", "inside", "outside"),
    [
        ("ip:93.184.0.0/16", "ip:93.184.215.0/24", "ip:93.0.0.0/8"),
        ("email:.example.gov", "email:mail.example.gov", "email:example.gov"),
        ("uri:.example.gov", "uri:.www.example.gov", "uri:example.org"),
        ("dirname:O=Republic of Example,C=EX", "dirname:OU=Tax,O=Republic of Example,C=EX",
         "dirname:O=Elsewhere,C=EX"),
    ],
)  # fmt: skip
def test_constraints_of_every_form_must_narrow(
    root: CertificateAuthority, tmp_path: Path, base: str, inside: str, outside: str
) -> None:
    top = root.create_subordinate(
        "CN=Top CA,O=Republic of Example,C=EX", tmp_path / "top", passphrase=PASS,
        path_length=1, name_constraints=_permit(base),
    )  # fmt: skip
    with pytest.raises(PolicyViolation, match="is outside the issuer's permitted"):
        top.issue(_csr("CN=Low CA,O=Republic of Example,C=EX"), "sub-ca",
                  name_constraints=_permit(outside))  # fmt: skip
    top.issue(_csr("CN=Low CA,O=Republic of Example,C=EX"), "sub-ca",
              name_constraints=_permit(inside))  # fmt: skip


def test_a_leading_period_permits_names_below_only(
    root: CertificateAuthority, tmp_path: Path, clock: FixedClock
) -> None:
    dotted = root.create_subordinate(
        "CN=Dotted CA,C=EX",
        tmp_path / "d",
        passphrase=PASS,
        name_constraints=_permit("dns:.example.gov"),
    )
    nc = dotted.certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    assert nc.permitted_subtrees == [x509.DNSName(".example.gov")]
    with pytest.raises(PolicyViolation, match=r"dns:example\.gov is outside"):
        dotted.issue(_csr("CN=example.gov", "dns:example.gov"), "tls-server")
    issued = dotted.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    at = clock.now()
    assert openssl_verify(root.certificate, [dotted.certificate], issued.certificate, at=at).ok
    bare, _ = _raw(dotted, "CN=example.gov", at=at, dns=("example.gov",))
    assert not openssl_verify(root.certificate, [dotted.certificate], bare, at=at).ok


# --- policy constraints and validity of the chain above ---------------------------------


def _policy_ca(root: CertificateAuthority, clock: FixedClock, policy: str) -> CertificateAuthority:
    """A CA that asserts one certificate policy and requires an explicit policy below."""
    at = clock.now()
    key = generate_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(parse_name("CN=Policy Bound CA,C=EX"))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at)
        .not_valid_after(at + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
            critical=False,
        )
        .add_extension(x509.PolicyConstraints(0, None), critical=True)
        .sign(root.key, signature_hash_for(root.key))
    )
    return CertificateAuthority(
        root.directory, root.config, cert, (root.certificate,), root.store, key=key, clock=clock
    )


def test_policy_constraints_above_bind_issuance(
    root: CertificateAuthority, clock: FixedClock
) -> None:
    # requireExplicitPolicy 0 and only an ETSI policy: a tls-server certificate asserts
    # the CA/B Forum DV policy, which no relying party could map, so it is refused.
    etsi = _policy_ca(root, clock, "0.4.0.2042.1.2")
    with pytest.raises(PolicyViolation, match="explicit policy is required"):
        etsi.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    # The twin: under a CA asserting the DV policy it is issued.
    dv = _policy_ca(root, clock, "2.23.140.1.2.1")
    issued = dv.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    result = validate(
        issued.certificate, trust_anchors=[root.certificate], intermediates=[dv.certificate],
        at=clock.now(), purpose=Purpose.TLS_SERVER,
    )  # fmt: skip
    assert result.path[0] == issued.certificate


def test_nothing_outlives_a_ca_above(
    root: CertificateAuthority, tmp_path: Path, clock: FixedClock
) -> None:
    # The issuing CA outlives the root (made so by a careless parent): the root's end
    # bounds what the issuing CA signs, as relying parties check every CA on the path.
    at = clock.now()
    key = generate_key()
    long_lived, _ = _raw(root, "CN=Long CA,C=EX", at=at, ca=True, path_length=0, key=key)
    long_lived = (
        x509.CertificateBuilder(extensions=list(long_lived.extensions))
        .subject_name(long_lived.subject)
        .issuer_name(long_lived.issuer)
        .public_key(long_lived.public_key())
        .serial_number(long_lived.serial_number)
        .not_valid_before(at)
        .not_valid_after(root.certificate.not_valid_after_utc + timedelta(days=400))
        .sign(root.key, signature_hash_for(root.key))
    )
    ca = CertificateAuthority(
        root.directory, root.config, long_lived, (root.certificate,), root.store, key=key,
        clock=FixedClock(root.certificate.not_valid_after_utc - timedelta(days=10)),
    )  # fmt: skip
    csr = _csr("CN=device,O=R,C=EX", "dns:device.example.gov")
    with pytest.raises(
        PolicyViolation, match=r"beyond CN=Republic of Example Root CA.*'s notAfter"
    ):
        ca.issue(csr, "tls-client", days=30)
    # The default validity stops where the root does.
    issued = ca.issue(csr, "tls-client")
    assert issued.certificate.not_valid_after_utc == root.certificate.not_valid_after_utc


def test_a_profile_may_allow_outliving_the_issuer_with_a_warning(
    root: CertificateAuthority, tmp_path: Path
) -> None:
    config = root.directory / "trustkit.toml"
    config.write_text(
        config.read_text() + '\n[profiles.archive]\nbase = "tls-client"\n'
        "may_outlive_issuer = true\nvalidity_days = 365\n"
    )
    late = FixedClock(root.certificate.not_valid_after_utc - timedelta(days=10))
    ca = CertificateAuthority.open(root.directory, passphrase=PASS, clock=late)
    csr = _csr("CN=archive,O=R,C=EX", "dns:archive.example.gov")
    with pytest.warns(IssuanceWarning, match="beyond the issuing CA's notAfter"):
        issued = ca.issue(csr, "archive")
    assert issued.certificate.not_valid_after_utc > root.certificate.not_valid_after_utc
    # The twin: the built-in profile refuses the same request.
    with pytest.raises(PolicyViolation, match="beyond the issuing CA's notAfter"):
        ca.issue(csr, "tls-client", days=365)
    ca.close()


def test_an_expired_ca_above_issues_nothing(
    root: CertificateAuthority, mid: CertificateAuthority
) -> None:
    late = root.certificate.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(PolicyViolation, match=r"chain: .*trust anchor is not valid at .*6\.1\.1 d"):
        mid.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server", at=late)
    mid.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")


def test_ip_constraints_bind_issuance(root: CertificateAuthority, tmp_path: Path) -> None:
    ranged = root.create_subordinate(
        "CN=Ranged CA,C=EX", tmp_path / "r", passphrase=PASS,
        name_constraints=x509.NameConstraints(
            permitted_subtrees=[
                x509.DNSName("example.gov"),
                x509.IPAddress(ipaddress.ip_network("93.184.215.0/24")),
            ],
            excluded_subtrees=None,
        ),
    )  # fmt: skip
    with pytest.raises(PolicyViolation, match=r"ip:93\.184\.216\.1 is outside"):
        ranged.issue(_csr("CN=www.example.gov", "dns:www.example.gov", "ip:93.184.216.1"))
    ranged.issue(_csr("CN=www.example.gov", "dns:www.example.gov", "ip:93.184.215.1"))
