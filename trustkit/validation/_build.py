"""Path building with backtracking (RFC 4158 in spirit): the candidate issuers of a
certificate, most promising first, every path to an anchor as it is found, and the
bounds on the work the search may do.

What depends only on the anchors and intermediates given (the certificates by
subject, the ranking of a CA's candidates) is kept in a :class:`PoolIndex` shared by
validations given the same objects; the work it stands for is counted in each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from ..matching import NormalizedName
from ..names import format_name
from ._cache import POOL_INDEXES, LruCache, facts_of, signature_cached
from ._crypto import certificate_signed_by
from ._fetch import HttpFetcher
from ._model import ValidationPolicy
from ._path import MalformedCertificate, get_extension

__all__ = [
    "MAX_RANKINGS",
    "PARSE_ERRORS",
    "PATH_BUILDING_LIMITS",
    "Builder",
    "LimitReached",
    "PoolIndex",
    "pool_index",
]

PARSE_ERRORS = (
    x509.InvalidVersion,
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    OverflowError,
    IndexError,
    MalformedCertificate,
)


class LimitReached(Exception):
    """Internal: a bound on validation work was reached; ``limit`` names the policy field."""

    def __init__(self, limit: str, value: int, what: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.value = value
        self.what = what


PATH_BUILDING_LIMITS = frozenset({"max_work", "max_signature_checks"})
"""Bounds on the search for a path: a path that failed validation before one of them
was reached says more than the bound does."""


def _spki(cert: x509.Certificate) -> bytes:
    return facts_of(cert).spki


class _Unset:
    """Marks a value not computed yet where ``None`` is a value."""


_UNSET = _Unset()

MAX_RANKINGS = 256
"""Ranked candidate lists kept per set, by issuer name and authority key identifier."""


class PoolIndex:
    """What path building derives from one set of trust anchors and intermediates.

    Shared by every validation given the very same certificate objects (a server
    that validates each client against its configured anchors and chain): the
    anchors and the pool without duplicates, the certificates by subject, the
    ranked candidates for an issuer, and the parts of a result key that come from
    these certificates. All of it is a function of the certificates alone; the work
    it stands for is still counted in each validation (``Builder.candidates``).
    """

    def __init__(
        self, anchors: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
    ) -> None:
        # The given objects, kept: while this entry lives no id in its key is reused.
        self.given = (tuple(anchors), tuple(intermediates))
        self.anchors = list(dict.fromkeys(anchors))
        self.anchor_set = set(self.anchors)
        self.anchor_names: set[NormalizedName] = set()
        for anchor in self.anchors:
            with contextlib.suppress(*PARSE_ERRORS):
                self.anchor_names.add(facts_of(anchor).subject_norm)
        self.pool = [c for c in dict.fromkeys(intermediates) if c not in self.anchor_set]
        self.by_subject: dict[NormalizedName, list[x509.Certificate]] = {}
        for cert in [*self.anchors, *self.pool]:
            _index(self.by_subject, cert)
        self.ranked: LruCache[tuple[NormalizedName, bytes | None], list[x509.Certificate]] = (
            LruCache(MAX_RANKINGS)
        )
        self._key_part: tuple[object, list[datetime]] | _Unset | None = _UNSET

    def key_part(self) -> tuple[object, list[datetime]] | None:
        """The anchors' and intermediates' share of a result key (their DER) and their
        validity bounds, sorted; ``None`` when one cannot be parsed."""
        if isinstance(self._key_part, _Unset):
            anchors, pool = self.given
            try:
                instants = sorted(t for c in (*anchors, *pool) for t in facts_of(c).validity)
                ders = (
                    tuple(facts_of(c).der for c in anchors),
                    tuple(facts_of(c).der for c in pool),
                )
                self._key_part = (ders, instants)
            except PARSE_ERRORS:
                self._key_part = None
        return self._key_part


def pool_index(
    anchors: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
) -> PoolIndex:
    """The index of ``anchors`` and ``intermediates``, shared while these very objects
    are given again (the entry holds them, so their ids cannot be reused meanwhile)."""
    key = (tuple(map(id, anchors)), tuple(map(id, intermediates)))
    index = POOL_INDEXES.get(key)
    if not isinstance(index, PoolIndex):
        index = PoolIndex(anchors, intermediates)
        POOL_INDEXES.put(key, index)
    return index


def _index(
    by_subject: dict[NormalizedName, list[x509.Certificate]], cert: x509.Certificate
) -> None:
    try:
        key = facts_of(cert).subject_norm
    except PARSE_ERRORS:
        return
    by_subject.setdefault(key, []).append(cert)


class Builder:
    """Candidate issuers, signature cache and work counter for one validation."""

    def __init__(
        self,
        index: PoolIndex,
        policy: ValidationPolicy,
        fetcher: HttpFetcher | None,
    ) -> None:
        self.policy = policy
        self.fetcher = fetcher
        self.work = 0
        self.signature_checks = 0
        self.name_constraint_checks = 0
        self._shared = index
        self.anchors = index.anchors
        self.anchor_set = index.anchor_set
        self._anchor_names = index.anchor_names
        if fetcher is None:
            self.pool = index.pool
            self._by_subject = index.by_subject
        else:  # fetched issuers join this validation's pool only
            self.pool = list(index.pool)
            self._by_subject = {name: list(certs) for name, certs in index.by_subject.items()}
        self._ranked_here: set[tuple[NormalizedName, bytes | None]] = set()
        self._sig_cache: dict[tuple[int, int], bool] = {}
        self._fetched_urls: set[str] = set()
        self.last_failure: tuple[int, str] | None = None
        self.signers_in_progress: set[x509.Certificate] = set()

    def spend(self, amount: int = 1) -> None:
        self.work += amount
        if self.work > self.policy.max_work:
            raise LimitReached(
                "max_work", self.policy.max_work, "candidate issuers and signature checks"
            )

    def spend_name_constraint_checks(self, comparisons: int) -> None:
        """Count ``comparisons`` before they are made: a certificate whose names would
        take the total past the bound is refused without comparing any of them."""
        self.name_constraint_checks += comparisons
        if self.name_constraint_checks > self.policy.max_name_constraint_checks:
            raise LimitReached(
                "max_name_constraint_checks",
                self.policy.max_name_constraint_checks,
                "name-constraint comparisons (names times subtrees, over every path tried)",
            )

    def signs(self, child: x509.Certificate, parent: x509.Certificate) -> bool:
        """Whether ``parent``'s key verifies ``child``'s signature (no policy applied)."""
        cache_key = (id(child), id(parent))
        if cache_key in self._sig_cache:
            return self._sig_cache[cache_key]
        # Work is counted per validation, whatever the shared cache holds, so that a
        # result never depends on what was validated before.
        self.spend()
        self.signature_checks += 1
        if self.signature_checks > self.policy.max_signature_checks:
            raise LimitReached(
                "max_signature_checks",
                self.policy.max_signature_checks,
                "certificate signature checks",
            )

        def check() -> bool:
            return certificate_signed_by(child, facts_of(parent).key)

        ok = signature_cached(facts_of(parent).spki, facts_of(child).der, check)
        self._sig_cache[cache_key] = ok
        return ok

    def candidates(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """Possible issuers of ``cert``, the most promising first (a list not to change)."""
        issuer = facts_of(cert).issuer_norm
        found = self._by_subject.get(issuer, [])
        if not found and self.fetcher is not None:
            self._fetch_issuers(cert)
            found = self._by_subject.get(issuer, [])
        aki: bytes | None = None
        try:
            ext = get_extension(cert, x509.AuthorityKeyIdentifier)
            aki = ext.value.key_identifier if ext is not None else None
        except MalformedCertificate:
            aki = None
        memo_key = (issuer, aki)
        # Ranking reads every candidate's extensions: work, counted as such (once per
        # validation and issuer, as if ranked here), so that a pool of thousands of
        # certificates under one name is refused before it is sorted.
        if self.fetcher is None:
            # Twins of one CA, and the leaves of one CA in every validation against the
            # same pool, share their issuer's candidates: ranked once, not per leaf.
            shared = self._shared.ranked.get(memo_key)
            if shared is not None:
                if memo_key not in self._ranked_here:
                    self._ranked_here.add(memo_key)
                    self.spend(len(found))
                return shared
        self.spend(len(found))

        def rank(candidate: x509.Certificate) -> tuple[int, int]:
            ski: bytes | None = None
            try:
                ext = get_extension(candidate, x509.SubjectKeyIdentifier)
                ski = ext.value.digest if ext is not None else None
            except MalformedCertificate:
                ski = None
            # AKI/SKI are hints (RFC 5280 4.2.1.1): a mismatch only sorts later. Then
            # anchors, then certificates an anchor issued: shorter paths first (RFC 4158).
            key_rank = 0 if aki is None or ski is None else (-1 if aki == ski else 1)
            if candidate in self.anchor_set:
                return (key_rank, 0)
            try:
                near = facts_of(candidate).issuer_norm in self._anchor_names
            except PARSE_ERRORS:
                near = False
            return (key_rank, 1 if near else 2)

        ranked = sorted(found, key=rank)
        if self.fetcher is None:
            self._ranked_here.add(memo_key)
            self._shared.ranked.put(memo_key, ranked)
        return ranked

    def _fetch_issuers(self, cert: x509.Certificate) -> None:
        assert self.fetcher is not None
        try:
            aia = get_extension(cert, x509.AuthorityInformationAccess)
        except MalformedCertificate:
            return
        for desc in aia.value if aia is not None else ():
            location = desc.access_location
            if desc.access_method != x509.oid.AuthorityInformationAccessOID.CA_ISSUERS:
                continue
            if not isinstance(location, x509.UniformResourceIdentifier):
                continue
            if location.value in self._fetched_urls:
                continue
            self._fetched_urls.add(location.value)
            self.spend()
            for fetched in self.fetcher.fetch_certificates(location.value):
                if fetched not in self.anchor_set and fetched not in self.pool:
                    self.pool.append(fetched)
                    _index(self._by_subject, fetched)

    def paths(self, cert: x509.Certificate) -> Iterator[list[x509.Certificate]]:
        """Every path from ``cert`` to an anchor, depth first, as they are found."""
        if cert in self.anchor_set:
            yield [cert]
        yield from self._extend([cert], {(facts_of(cert).subject_norm, _spki(cert))})

    def _failed(self, index: int, why: str) -> None:
        """Note why extending the path at ``index`` failed; the deepest reason is kept,
        as the one closest to a whole path (the first of equals)."""
        if self.last_failure is None or index > self.last_failure[0]:
            self.last_failure = (index, why)

    def _extend(
        self, path: list[x509.Certificate], seen: set[tuple[NormalizedName, bytes]]
    ) -> Iterator[list[x509.Certificate]]:
        current = path[-1]
        candidates = self.candidates(current)
        if not candidates:
            self._failed(len(path) - 1, f"no issuer found named {format_name(current.issuer)}")
        for candidate in candidates:
            self.spend()
            identity = (facts_of(candidate).subject_norm, _spki(candidate))
            if identity in seen and candidate not in self.anchor_set:
                # A loop: same subject and key already on the path (RFC 4158 5.2).
                self._failed(
                    len(path) - 1,
                    f"candidate issuer {format_name(candidate.subject)} is already on the path",
                )
                continue
            if candidate not in self.anchor_set and len(path) > self.policy.max_intermediates:
                self._failed(
                    len(path) - 1,
                    f"path length limit of {self.policy.max_intermediates} intermediates reached",
                )
                continue
            if not self.signs(current, candidate):
                self._failed(
                    len(path) - 1,
                    f"signature does not verify with the key of candidate issuer "
                    f"{format_name(candidate.subject)}",
                )
                continue
            if candidate in self.anchor_set:
                yield [*path, candidate]
                continue
            yield from self._extend([*path, candidate], seen | {identity})
