"""The first CRL after a bulk revocation equals the CRL of the same revocations one by one.

Bulk-loaded revocations reach the store without their encoded CRL entry; the
first CRL encodes them. Its entries must be byte for byte those that
``revoke`` wrote one at a time, and openssl must accept both CRLs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from asn1crypto import crl as asn1_crl
from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.revocation.crl import build_crl
from trustkit.store.sql import certificates

from .conftest import PASSPHRASE, issue_leaf, make_hierarchy, openssl

REASONS = [r for r in x509.ReasonFlags if r is not x509.ReasonFlags.remove_from_crl]


def _entries(conn: sa.Connection) -> dict[str, bytes | None]:
    query = sa.select(certificates.c.serial, certificates.c.crl_entry)
    return {row.serial: row.crl_entry for row in conn.execute(query)}


def _tbs(der: bytes) -> asn1_crl.TbsCertList:
    return asn1_crl.CertificateList.load(der)["tbs_cert_list"]


def _without_number(tbs: asn1_crl.TbsCertList) -> list[bytes]:
    return [ext.dump() for ext in tbs["crl_extensions"] if ext["extn_id"].native != "crl_number"]


def test_bulk_loaded_revocations_give_the_same_crl_as_one_by_one(
    tmp_path: Path, store_url: str
) -> None:
    h = make_hierarchy(tmp_path, store=store_url)
    ca = h.ca
    try:
        at = ca.clock.now()
        for index, reason in enumerate(REASONS * 2):
            leaf = issue_leaf(ca, f"host{index}.example.gov")
            invalidity = at - timedelta(days=index, microseconds=index) if index % 2 else None
            ca.revoke(leaf.serial, reason, invalidity_date=invalidity)
        one_by_one = build_crl(ca, at=at)
        engine = sa.create_engine(ca.store.url)
        with engine.connect() as conn:
            written = _entries(conn)
        # The state a bulk load leaves: revoked, no entry encoded yet.
        with engine.begin() as conn:
            conn.execute(certificates.update().values(crl_entry=None))
    finally:
        ca.close()

    # A fresh process: nothing of the earlier CRL's entries kept in memory.
    fresh = CertificateAuthority.open(tmp_path / "ca", passphrase=PASSPHRASE)
    try:
        bulk = build_crl(fresh, at=at)
    finally:
        fresh.close()
    with engine.connect() as conn:
        encoded = _entries(conn)
    engine.dispose()

    assert encoded == written
    assert sum(entry is not None for entry in encoded.values()) == 1 + 2 * len(REASONS)
    first, second = _tbs(one_by_one.der), _tbs(bulk.der)
    # Entry by entry, byte for byte. The order of entries is the store's row
    # order, which an UPDATE may change on PostgreSQL; RFC 5280 gives it no meaning.
    assert sorted(e.dump() for e in second["revoked_certificates"]) == sorted(
        e.dump() for e in first["revoked_certificates"]
    )
    assert len(second["revoked_certificates"]) == 1 + 2 * len(REASONS)
    for field in ("version", "signature", "issuer", "this_update", "next_update"):
        assert second[field].dump() == first[field].dump()
    assert _without_number(second) == _without_number(first)
    assert bulk.crl_number > one_by_one.crl_number
    # Mirror: the CRLs are not trivially equal (the number moved on).
    assert second.dump() != first.dump()

    for name, crl in (("one.crl", one_by_one), ("bulk.crl", bulk)):
        checked = openssl(
            "crl", "-inform", "DER", "-in", h.write(name, crl.der),
            "-CAfile", h.root_pem, "-noout",
        )  # fmt: skip
        assert "verify OK" in checked.stdout + checked.stderr, checked.stderr
    # Mirror: openssl refuses a CRL whose entries were altered after signing.
    some_entry = next(entry for entry in encoded.values() if entry is not None)
    assert some_entry in bulk.der
    tampered = bulk.der.replace(some_entry[-8:], b"\0" * 8, 1)
    checked = openssl(
        "crl", "-inform", "DER", "-in", h.write("tampered.crl", tampered),
        "-CAfile", h.root_pem, "-noout",
    )  # fmt: skip
    assert "verify OK" not in checked.stdout + checked.stderr
