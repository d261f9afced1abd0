"""Certificate revocation lists: complete, delta and partitioned (RFC 5280 section 5).

One call makes, signs and records a CRL::

    crl = build_crl(ca, at=now)                       # the whole CA
    crl = build_crl(ca, at=now, shard=3)              # one partition ([crl] shards = N)
    crl = build_crl(ca, at=now, delta=True)           # what changed since the last complete CRL
    open("ca.crl", "wb").write(crl.pem())

The CRL number comes from a counter in the store, shared by complete and
delta CRLs of every scope, so it never goes backwards (RFC 5280 5.2.3) even
with several publishers on one PostgreSQL store. Publication is linearisable:
the number, the entry set and thisUpdate come from one store transaction
under the CA's publication lock (:meth:`CertificateStore.publish_crl`), so a
higher-numbered CRL never lacks an entry a lower one lists and thisUpdate
never goes backwards. Every CRL is recorded in the store; :func:`current_crl`
hands out the last one while it is fresh, which is what the HTTP service
publishes.

Speed: each revoked certificate's CRL entry is DER-encoded once, when it is
revoked, and kept in the store. A CRL is then cryptography's CRL without
entries (issuer, times, extensions) with the stored entries placed into its
TBSCertList and the whole signed again: no entry is encoded twice, and a CRL
of 100,000 entries costs a database read, a hash and two signatures. The
entries of each complete scope are also kept in memory with the revocation
sequence number they are complete up to, beside the store object: the next
CRL of that scope reads only the entries revoked since (RFC 5280 does not
order revokedCertificates), so a CRL made again costs a hash and two
signatures.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from .._asn1 import assemble_crl, crl_tbs_with_entries
from ..ca import CertificateAuthority
from ..clock import utc
from ..encoding import pem_encode
from ..errors import ConfigError, RevocationError
from ..keys import PrivateKey, signature_hash_for
from ..store import CertificateStore, CRLPublication, CRLRecord

__all__ = [
    "CRL_NUMBER_COUNTER",
    "PublishedCRL",
    "build_crl",
    "crl_scopes",
    "current_crl",
    "delta_crl_url",
]

CRL_NUMBER_COUNTER = "crl_number"
"""The store counter that numbers CRLs; complete and delta CRLs share it (RFC 5280 5.2.4)."""


@dataclass(frozen=True)
class PublishedCRL:
    """A signed CRL and what the store recorded about it."""

    der: bytes
    crl_number: int
    this_update: datetime
    next_update: datetime
    shard: int | None
    """The partition covered, or ``None`` for the whole CA."""
    delta: bool
    base_crl_number: int | None
    """For a delta CRL, the number of the complete CRL it updates."""
    entries: int
    """How many revoked certificates it lists."""

    def pem(self) -> bytes:
        """The CRL as PEM (``X509 CRL``)."""
        return pem_encode("X509 CRL", self.der)

    @property
    def crl(self) -> x509.CertificateRevocationList:
        """The CRL, parsed by cryptography."""
        return x509.load_der_x509_crl(self.der)

    @classmethod
    def from_record(cls, record: CRLRecord, entries: int = -1) -> PublishedCRL:
        """A published CRL from the store's record of it (``entries`` -1: not counted)."""
        return cls(
            der=record.der,
            crl_number=record.crl_number,
            this_update=record.this_update,
            next_update=record.next_update,
            shard=record.shard,
            delta=record.delta,
            base_crl_number=record.base_crl_number,
            entries=entries,
        )


def delta_crl_url(url: str) -> str:
    """The delta CRL's URL beside a complete CRL's: ``ca.crl`` -> ``ca-delta.crl``.

    The same rule names the delta CRL in certificates' FreshestCRL extension.
    """
    stem, dot, ext = url.rpartition(".")
    return f"{stem}-delta.{ext}" if dot else f"{url}-delta"


def crl_scopes(ca: CertificateAuthority) -> list[int | None]:
    """Every scope a CA publishes a CRL for: the whole CA, then each partition."""
    return [None, *range(ca.config.crl_shards)]


def _check_scope(ca: CertificateAuthority, shard: int | None, delta: bool) -> None:
    shards = ca.config.crl_shards
    if shard is not None and not 0 <= shard < shards:
        raise ConfigError(
            f"shard {shard}: {ca.config.name} has "
            + (f"CRL partitions 0 to {shards - 1}" if shards else "no CRL partitions")
            + " ([crl] shards)"
        )
    if delta and not ca.config.crl_delta:
        raise ConfigError(f"{ca.config.name}: delta CRLs are not enabled ([crl] delta = true)")


def _authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.public_key()  # type: ignore[arg-type]  # a CA key is never X25519/X448
        )


def _distribution_point(url: str) -> x509.DistributionPoint:
    return x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)


def _sign(key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data`` as cryptography's CRL builder does with ``key``."""
    algorithm = signature_hash_for(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert algorithm is not None
        return key.sign(data, ec.ECDSA(algorithm))
    if isinstance(key, rsa.RSAPrivateKey):
        assert algorithm is not None
        return key.sign(data, padding.PKCS1v15(), algorithm)
    # EdDSA hashes internally (RFC 8410).
    return key.sign(data)


_Scope = tuple[str, int | None]
_ENTRIES: weakref.WeakKeyDictionary[object, dict[_Scope, tuple[int, bytes, int]]] = (
    weakref.WeakKeyDictionary()
)
"""Per store object, per (issuer, shard): (revocation seq, joined entries, how many)."""
_ENTRIES_LOCK = threading.Lock()


def _complete_entries(
    store: CertificateStore, publication: CRLPublication, issuer: str, shard: int | None
) -> tuple[bytes, int, int]:
    """Every entry of a complete CRL of one scope: (joined DER, how many, revocation seq).

    Read through ``publication``, under the store's publication lock. Entries
    are kept from the last call and only those revoked since are read; a
    revocation moves the store's sequence number, and a revoked certificate
    stays revoked, so the kept ones stay right (the store may be shared with
    other processes). A sequence number that went back (a restored backup)
    means reading everything again.
    """
    scope = (issuer, shard)
    with _ENTRIES_LOCK:
        try:
            known = _ENTRIES.get(store, {}).get(scope)
        except TypeError:  # a store that cannot be weakly referenced: nothing kept
            known = None
    if known is not None and known[0] > publication.revocation_seq:
        known = None
    if known is not None:
        seq, joined, count = known
        fresh = publication.crl_entries(shard=shard, after_seq=seq)
        result = (
            joined + b"".join(fresh.entries),
            count + len(fresh.entries),
            fresh.revocation_seq,
        )
    else:
        fresh = publication.crl_entries(shard=shard, after_seq=0)
        result = (b"".join(fresh.entries), len(fresh.entries), fresh.revocation_seq)
    with _ENTRIES_LOCK:
        try:
            _ENTRIES.setdefault(store, {})[scope] = (result[2], result[0], result[1])
        except TypeError:
            pass
    return result


def _delta_entries(
    publication: CRLPublication, shard: int | None, base: CRLRecord
) -> tuple[bytes, int, int]:
    """The entries of a delta CRL over ``base``: revoked after it, up to the lock's seq."""
    fresh = publication.crl_entries(shard=shard, after_seq=base.revocation_seq)
    return b"".join(fresh.entries), len(fresh.entries), fresh.revocation_seq


@dataclass(frozen=True)
class _Draft:
    """What one CRL says, fixed under the publication lock, before it is signed."""

    number: int
    this_update: datetime
    next_update: datetime
    shard: int | None
    base: CRLRecord | None
    joined: bytes
    count: int


def _signed(ca: CertificateAuthority, key: PrivateKey, draft: _Draft) -> bytes:
    """The DER CRL of ``draft``, signed with ``key``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(draft.this_update)
        .next_update(draft.next_update)
        .add_extension(x509.CRLNumber(draft.number), critical=False)
        .add_extension(_authority_key_identifier(ca.certificate), critical=False)
    )
    if draft.shard is not None:
        url = ca.crl_url(draft.shard)
        assert url is not None  # checked before the lock was taken
        # RFC 5280 5.2.5: critical; the full name matches the certificates' CRL DP.
        builder = builder.add_extension(
            x509.IssuingDistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                only_contains_user_certs=False,
                only_contains_ca_certs=False,
                only_some_reasons=None,
                indirect_crl=False,
                only_contains_attribute_certs=False,
            ),
            critical=True,
        )
    if draft.base is not None:
        # RFC 5280 5.2.4: critical, naming the complete CRL this one updates.
        builder = builder.add_extension(
            x509.DeltaCRLIndicator(draft.base.crl_number), critical=True
        )
    elif ca.config.crl_delta:
        url = ca.crl_url(draft.shard or 0)
        if url is not None:
            # RFC 5280 5.2.6: a complete CRL may say where its delta CRLs are.
            builder = builder.add_extension(
                x509.FreshestCRL([_distribution_point(delta_crl_url(url))]), critical=False
            )
    template = builder.sign(key, signature_hash_for(key)).public_bytes(Encoding.DER)
    if not draft.count:
        return template
    tbs = crl_tbs_with_entries(template, [draft.joined])
    return assemble_crl(template, tbs, _sign(key, tbs))


def build_crl(
    ca: CertificateAuthority,
    *,
    at: datetime,
    shard: int | None = None,
    delta: bool = False,
) -> PublishedCRL:
    """Make, sign and record a new CRL of ``ca`` at time ``at``.

    ``shard`` limits it to one partition and adds a critical
    issuingDistributionPoint naming that partition's URL, the one its
    certificates carry (RFC 5280 5.2.5). ``delta`` makes a delta CRL over the
    last complete CRL of the same scope (5.2.4); there must be one.

    Linearisable: the number, the entries (and a delta's base) and thisUpdate
    are fixed in one store transaction under the CA's publication lock, and
    the CRL is signed and recorded before it is released, so of any two CRLs
    the higher-numbered lists everything the other lists (with its base, for
    a delta) plus what was revoked between. thisUpdate never goes backwards
    in number order (RFC 5280 5.1.2.4): an ``at`` older than the last CRL's
    thisUpdate (a publisher whose clock is behind, or one that waited for the
    lock with an earlier ``at``) is clamped up to it, and nextUpdate counts
    from the clamped value.
    """
    _check_scope(ca, shard, delta)
    if shard is not None and ca.crl_url(shard) is None:
        raise ConfigError(f"{ca.config.name}: partitioned CRLs need a CRL URL ([urls])")
    store = ca.store
    # Unlocked before the lock: a passphrase prompt or an HSM login never holds it.
    key = ca.key
    requested = utc(at).replace(microsecond=0)
    with store.publish_crl(ca.id, CRL_NUMBER_COUNTER) as publication:
        last = publication.last_this_update
        this_update = requested if last is None or requested >= last else last
        base: CRLRecord | None = None
        if delta:
            base = publication.latest_crl(shard=shard, delta=False)
            if base is None:
                raise RevocationError(
                    f"delta CRL of {ca.config.name}: no complete CRL of this scope to build on "
                    "(RFC 5280 5.2.4); publish a complete CRL first"
                )
            joined, count, revocation_seq = _delta_entries(publication, shard, base)
        else:
            joined, count, revocation_seq = _complete_entries(store, publication, ca.id, shard)
        draft = _Draft(
            number=publication.crl_number,
            this_update=this_update,
            next_update=this_update + ca.config.crl_next_update,
            shard=shard,
            base=base,
            joined=joined,
            count=count,
        )
        der = _signed(ca, key, draft)
        publication.record(
            CRLRecord(
                issuer=ca.id,
                crl_number=draft.number,
                shard=shard,
                delta=delta,
                base_crl_number=None if base is None else base.crl_number,
                this_update=draft.this_update,
                next_update=draft.next_update,
                revocation_seq=revocation_seq,
                der=der,
            )
        )
    return PublishedCRL(
        der=der,
        crl_number=draft.number,
        this_update=draft.this_update,
        next_update=draft.next_update,
        shard=shard,
        delta=delta,
        base_crl_number=None if base is None else base.crl_number,
        entries=count,
    )


def current_crl(
    ca: CertificateAuthority,
    *,
    at: datetime,
    shard: int | None = None,
    delta: bool = False,
) -> PublishedCRL:
    """The CRL to publish now: the last one recorded while it is fresh, else a new one.

    A recorded CRL is fresh until half its validity has passed and as long as
    nothing was revoked since it was made. A delta CRL is rebuilt when its base
    is no longer the newest complete CRL. Building needs the CA key.
    """
    _check_scope(ca, shard, delta)
    at = utc(at)
    store = ca.store
    seq = store.revocation_seq(ca.id)
    if delta:
        base = current_crl(ca, at=at, shard=shard)
        latest = store.latest_crl(ca.id, shard=shard, delta=True)
        if latest is not None and latest.base_crl_number != base.crl_number:
            latest = None
    else:
        latest = store.latest_crl(ca.id, shard=shard, delta=False)
    if latest is not None and latest.revocation_seq == seq and latest.this_update <= at:
        half_life = (latest.next_update - latest.this_update) / 2
        if at < latest.this_update + half_life:
            return PublishedCRL.from_record(latest)
    return build_crl(ca, at=at, shard=shard, delta=delta)
