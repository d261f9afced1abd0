"""Bounded validation work: name-constraint comparisons and signature checks.

x509-limbo-style pathological chains (many subtrees times many names; one subject with
many keys) are refused by a named bound of the ValidationPolicy; each has a twin just
under the bound that validates. No test here times anything: benchmarks/bench_validation.py
measures how long the worst cases take.
"""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509

from trustkit.errors import PathBuildingError, PathValidationError, ValidationLimitError
from trustkit.matching import NameConstraintState
from trustkit.validation import (
    DEFAULT_MAX_NAME_CONSTRAINT_CHECKS,
    DEFAULT_MAX_SIGNATURE_CHECKS,
    Purpose,
    ValidationPolicy,
    validate,
)

from .conftest import AT, Node, Pki, issue, leaf


def _constrained(issuer: Node, cn: str, subtrees: int) -> Node:
    """A CA whose nameConstraints hold ``subtrees`` dNSName subtrees, half permitted."""
    permitted = [x509.DNSName(f"host{i}.example.gov") for i in range(subtrees - subtrees // 2)]
    excluded = [x509.DNSName(f"bad{i}.example.gov") for i in range(subtrees // 2)]
    return issue(
        cn, issuer, ca=True, name_constraints=x509.NameConstraints(permitted, excluded or None)
    )


def _many_names(issuer: Node, count: int, permitted: int = 250) -> Node:
    """A leaf with ``count`` dNSNames, each inside one of ``permitted`` subtrees."""
    return leaf(issuer, dns=[f"host{i % permitted}.example.gov" for i in range(count)])


def _run(root: Node, ee: Node, pool: list[Node], policy: ValidationPolicy | None = None) -> None:
    validate(
        ee.cert,
        trust_anchors=[root.cert],
        intermediates=[n.cert for n in pool],
        at=AT,
        purpose=Purpose.TLS_SERVER,
        policy=policy,
    )


def test_many_subtrees_times_many_names_is_refused_by_the_default_bound() -> None:
    # 500 subtrees x 501 names: every name is inside the constraints, so RFC 5280 alone
    # accepts the chain; checking it is the denial of service (Go and cryptography
    # refuse it for the same reason).
    root = issue("NC Root", None, ca=True)
    inter = _constrained(root, "NC Issuing CA", 500)
    assert 500 * 501 > DEFAULT_MAX_NAME_CONSTRAINT_CHECKS
    with pytest.raises(ValidationLimitError, match="max_name_constraint_checks") as info:
        _run(root, _many_names(inter, 501), [inter])
    assert info.value.limit == "max_name_constraint_checks"
    assert info.value.value == DEFAULT_MAX_NAME_CONSTRAINT_CHECKS
    assert info.value.index == 0


def test_the_twin_just_under_the_default_bound_validates() -> None:
    root = issue("NC Root", None, ca=True)
    inter = _constrained(root, "NC Issuing CA", 500)
    assert 500 * 500 == DEFAULT_MAX_NAME_CONSTRAINT_CHECKS
    _run(root, _many_names(inter, 500), [inter])


def test_the_bound_counts_subtrees_of_every_ca_on_the_path() -> None:
    # 10 names, under 10 subtrees from the root and 10 from the issuing CA: 200.
    root = _constrained_root(10)
    inter = _constrained(root, "NC Issuing CA", 10)
    ee = _many_names(inter, 10, permitted=5)
    _run(root, ee, [inter], ValidationPolicy(max_name_constraint_checks=200))
    with pytest.raises(ValidationLimitError, match="max_name_constraint_checks"):
        _run(root, ee, [inter], ValidationPolicy(max_name_constraint_checks=199))


def _constrained_root(subtrees: int) -> Node:
    permitted = [x509.DNSName(f"host{i}.example.gov") for i in range(subtrees)]
    return issue("NC Root", None, ca=True, name_constraints=x509.NameConstraints(permitted, None))


def test_the_bound_counts_over_every_path_tried() -> None:
    # Two issuing CAs under one name: the first path tried (the more recently issued
    # certificate sorts no differently, so pool order decides) is refused for its
    # constraints after spending 10 x 20 comparisons; the second path needs 10 x 10.
    root = issue("NC Root", None, ca=True)
    strict = issue(
        "NC Issuing CA",
        root,
        ca=True,
        name_constraints=x509.NameConstraints(
            [x509.DNSName(f"other{i}.example.gov") for i in range(20)], None
        ),
    )
    loose = issue(
        "NC Issuing CA",
        root,
        ca=True,
        key=strict.key,
        name_constraints=x509.NameConstraints(
            [x509.DNSName(f"host{i}.example.gov") for i in range(10)], None
        ),
    )
    ee = _many_names(strict, 10)
    _run(root, ee, [strict, loose], ValidationPolicy(max_name_constraint_checks=300))
    with pytest.raises(ValidationLimitError, match="max_name_constraint_checks"):
        _run(root, ee, [strict, loose], ValidationPolicy(max_name_constraint_checks=299))


def _decoys(pki: Pki, count: int) -> list[Node]:
    """CAs named like the issuing CA, each with its own key but the issuing CA's key
    identifier: nothing but a signature check tells them apart."""
    ski = pki.inter.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return [
        issue("Test Issuing CA", pki.root, ca=True, with_ski=False, extra=[(ski, False)])
        for _ in range(count)
    ]


def test_one_subject_with_many_keys_is_refused_by_the_signature_bound(pki: Pki) -> None:
    # Each decoy costs a signature check; the real issuing CA comes last. The leaf's
    # issuer takes DEFAULT_MAX_SIGNATURE_CHECKS - 1 decoys and the CA itself, the CA's
    # own signature one more.
    decoys = _decoys(pki, DEFAULT_MAX_SIGNATURE_CHECKS - 1)
    ee = pki.make_leaf()
    with pytest.raises(ValidationLimitError, match="max_signature_checks") as info:
        _run(pki.root, ee, [*decoys, pki.inter])
    assert info.value.limit == "max_signature_checks"
    _run(pki.root, ee, [*decoys[1:], pki.inter])  # the twin: one check fewer


def test_without_the_real_issuer_the_signature_bound_is_named(pki: Pki) -> None:
    decoys = _decoys(pki, 12)
    ee = pki.make_leaf()
    with pytest.raises(PathBuildingError, match="signature does not verify"):
        _run(pki.root, ee, decoys)
    with pytest.raises(ValidationLimitError, match="max_signature_checks"):
        _run(pki.root, ee, decoys, ValidationPolicy(max_signature_checks=10))


def test_twins_times_decoys_stay_within_the_bound(pki: Pki) -> None:
    # Twins of the issuing CA, each a valid issuer of the leaf, each issued by a name
    # whose every candidate is a decoy: without a bound, twins x decoys signature
    # checks (x509-limbo's "chain of pain" made worse).
    middle = issue("Middle CA", pki.root, ca=True)
    twins = [issue("Twin CA", middle, ca=True, key=pki.inter.key) for _ in range(30)]
    decoy_middles = [issue("Middle CA", pki.root, ca=True) for _ in range(30)]
    ee = leaf(twins[0])
    with pytest.raises(ValidationLimitError, match="max_signature_checks"):
        _run(pki.root, ee, [*twins, *decoy_middles])
    _run(pki.root, ee, [*twins, *decoy_middles, middle])  # the twin: the real issuer too


@pytest.mark.parametrize("field", ["max_signature_checks", "max_name_constraint_checks"])
def test_bounds_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ValidationPolicy(**{field: 0})  # type: ignore[arg-type]


def test_comparisons_count_subtrees_of_the_names_own_form() -> None:
    state = NameConstraintState().add(
        x509.NameConstraints(
            [x509.DNSName("a.example"), x509.DNSName("b.example")],
            [x509.IPAddress(ipaddress.ip_network("10.0.0.0/8")), x509.DNSName("c.example")],
        )
    )
    state = state.add(x509.NameConstraints([x509.DNSName("a.example")], None))
    names = [
        x509.DNSName("x.a.example"),
        x509.DNSName("y.a.example"),
        x509.IPAddress(ipaddress.ip_address("11.1.2.3")),
        x509.RFC822Name("someone@a.example"),  # no rfc822Name subtree: nothing to compare
    ]
    # Each host name meets 4 dNSName subtrees, the address 1 iPAddress subtree.
    assert state.comparisons(names) == 4 + 4 + 1
    assert state.violation(names) is None
    assert state.comparisons([]) == 0 and NameConstraintState().comparisons(names) == 0


def test_a_violation_names_five_subtrees_and_counts_the_rest() -> None:
    subtrees = [x509.DNSName(f"host{i}.example.gov") for i in range(40)]
    state = NameConstraintState().add(x509.NameConstraints(subtrees, None))
    why = state.violation([x509.DNSName("elsewhere.example.org")])
    assert why is not None
    assert why.endswith("dns:host4.example.gov and 35 more")
    assert "host5" not in why


def test_a_hostile_chain_with_a_bad_name_is_refused_by_the_bound_before_comparing() -> None:
    # 600 subtrees over 600 names, the last outside them: the bound speaks first,
    # because the count is known before any name is compared.
    root = issue("NC Root", None, ca=True)
    inter = _constrained(root, "NC Issuing CA", 600)
    ee = leaf(inter, dns=[*(f"host{i % 300}.example.gov" for i in range(599)), "x.example.org"])
    with pytest.raises(ValidationLimitError, match="max_name_constraint_checks"):
        _run(root, ee, [inter])
    # With the bound raised out of the way, the same chain is refused for its name.
    with pytest.raises(PathValidationError, match=r"x\.example\.org is outside"):
        _run(root, ee, [inter], ValidationPolicy(max_name_constraint_checks=600 * 600))
