"""W6b: pathological chains, refused or validated well under a second each, beside an ordinary one.

Reproduce with::

    python -m benchmarks.bench_hostile            # 5 rounds
    python -m benchmarks.bench_hostile --quick    # 3 rounds

x509-limbo-style chains that make a validator work: a CA with 500 dNSName subtrees
over a leaf with 501 names (one comparison past ``max_name_constraint_checks``, refused)
and over a leaf with 500 (exactly at the bound, validated: the most work a chain may
cost); 2,000 subtrees over 2,000 names (refused as fast); one issuer name with many
keys, where the real issuer is absent (300: refused at ``max_signature_checks``; 3,000:
refused at ``max_work`` before the candidates are ranked, reading the pool being the only
cost that grows with it); and 30
twins of an issuing CA, each under a name of 30 decoys (refused at the same bound).
Every round uses certificates this process has not validated, so no signature comes
from the cache. The limit is cryptography's verifier on the same chain (which
refuses or accepts by its own budget); the ratio is its time over trustkit's. The
first row, an ordinary three-certificate chain, is what the others are measured beside.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from trustkit.errors import ValidationError
from trustkit.validation import Purpose, validate

from .bench_validation import AT, NOT_AFTER, NOT_BEFORE, _ku

Key = ec.EllipticCurvePrivateKey


@dataclass
class _Node:
    cert: x509.Certificate
    key: Key


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _issue(
    cn: str,
    issuer: _Node | None,
    *,
    key: Key | None = None,
    ca: bool = True,
    ski: x509.SubjectKeyIdentifier | None = None,
    names: list[str] = (),  # type: ignore[assignment]
    constraints: x509.NameConstraints | None = None,
) -> _Node:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca, None), critical=True)
        .add_extension(ski or x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    if ca:
        builder = builder.add_extension(_ku(key_cert_sign=True, crl_sign=True), critical=True)
    else:
        builder = (
            builder.add_extension(_ku(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        )
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    return _Node(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


@dataclass
class _Case:
    leaf: x509.Certificate
    anchors: list[x509.Certificate]
    pool: list[x509.Certificate]
    host: str


def _constrained(subtrees: int, names: int) -> _Case:
    """A CA with ``subtrees`` dNSName subtrees (half permitted) over ``names`` names."""
    root = _issue("Hostile Root", None)
    permitted = [x509.DNSName(f"host{i}.example.gov") for i in range(subtrees - subtrees // 2)]
    excluded = [x509.DNSName(f"bad{i}.example.gov") for i in range(subtrees // 2)]
    inter = _issue("Constrained CA", root, constraints=x509.NameConstraints(permitted, excluded))
    hosts = [f"host{i % len(permitted)}.example.gov" for i in range(names)]
    leaf = _issue(hosts[0], inter, ca=False, names=hosts)
    return _Case(leaf.cert, [root.cert], [inter.cert], hosts[0])


def _ordinary() -> _Case:
    root = _issue("Plain Root", None)
    inter = _issue("Plain CA", root)
    leaf = _issue("www.example.gov", inter, ca=False, names=["www.example.gov"])
    return _Case(leaf.cert, [root.cert], [inter.cert], "www.example.gov")


def _many_keys(decoys: int) -> _Case:
    """``decoys`` CAs under the issuer's name and key identifier, the issuer absent."""
    root = _issue("Keys Root", None)
    inter = _issue("Many Keys CA", root)
    ski = inter.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    pool = [_issue("Many Keys CA", root, ski=ski).cert for _ in range(decoys)]
    leaf = _issue("www.example.gov", inter, ca=False, names=["www.example.gov"])
    return _Case(leaf.cert, [root.cert], pool, "www.example.gov")


def _twins_times_decoys(count: int) -> _Case:
    """``count`` twins of the issuing CA, each under a name with ``count`` decoy CAs."""
    root = _issue("Pain Root", None)
    middle = _issue("Pain Middle", root)
    key = ec.generate_private_key(ec.SECP256R1())
    twins = [_issue("Pain Twin", middle, key=key) for _ in range(count)]
    decoys = [_issue("Pain Middle", root) for _ in range(count)]
    leaf = _issue("www.example.gov", twins[0], ca=False, names=["www.example.gov"])
    return _Case(leaf.cert, [root.cert], [t.cert for t in twins + decoys], "www.example.gov")


def _ours(case: _Case) -> str:
    try:
        validate(
            case.leaf,
            trust_anchors=case.anchors,
            intermediates=case.pool,
            at=AT,
            purpose=Purpose.TLS_SERVER,
            hostname=case.host,
        )
    except ValidationError as exc:
        return f"refused: {exc}"
    return "valid"


def _pyca(case: _Case) -> str:
    verifier = (
        PolicyBuilder()
        .store(Store(case.anchors))
        .time(AT)
        .build_server_verifier(x509.DNSName(case.host))
    )
    try:
        verifier.verify(case.leaf, case.pool)
    except VerificationError as exc:
        return f"refused: {exc}"
    return "valid"


def _median_ms(make: Callable[[], _Case], check: Callable[[_Case], str], rounds: int) -> float:
    cases = [make() for _ in range(rounds)]
    times = []
    for case in cases:
        start = time.perf_counter()
        check(case)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


WORKLOADS: dict[str, Callable[[], _Case]] = {
    "W6b ordinary chain": _ordinary,
    "W6b 500 subtrees x 500 names (at the bound)": lambda: _constrained(500, 500),
    "W6b 500 subtrees x 501 names": lambda: _constrained(500, 501),
    "W6b 2000 subtrees x 2000 names": lambda: _constrained(2000, 2000),
    "W6b one name, 300 keys, issuer absent": lambda: _many_keys(300),
    "W6b one name, 3000 keys, issuer absent": lambda: _many_keys(3000),
    "W6b 30 twins x 30 decoys": lambda: _twins_times_decoys(30),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--json", action="store_true", help="end with the rows as JSON")
    options = parser.parse_args()
    rounds = 3 if options.quick else options.rounds
    _ours(_ordinary())  # imports, caches and the public suffix list warmed up
    rows = []
    header = f"{'workload':46} {'trustkit ms':>11} {'pyca ms':>8} {'ratio':>6}  outcome"
    print(header)
    print("-" * (len(header) + 40))
    for name, make in WORKLOADS.items():
        ours = _median_ms(make, _ours, rounds)
        limit = _median_ms(make, _pyca, rounds)
        sample = make()
        outcome, theirs = _ours(sample), _pyca(sample)
        print(f"{name:46} {ours:11.2f} {limit:8.2f} {limit / ours:6.2f}  {outcome[:70]}")
        print(f"{'':46} {'':11} {'':8} {'':6}  pyca: {theirs[:70]}")
        rows.append(
            {
                "workload": f"{name}: {outcome.split(':')[0]}",
                "trustkit": round(ours, 2),
                "limit": round(limit, 2),
                "ratio": round(limit / ours, 2),
                "unit": "ms",
                "peers": {},
            }
        )
    if options.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
