"""Path building with backtracking (RFC 4158 in spirit) and the ``validate`` entry point."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509 import ocsp

from ..clock import utc
from ..errors import (
    DecodeError,
    DisallowedAlgorithmError,
    PathBuildingError,
    PathValidationError,
    TrustkitError,
    ValidationError,
    ValidationLimitError,
)
from ..matching import NormalizedName
from ..names import format_name
from ._cache import RESULTS, LruCache, crl_facts_of, facts_of, signature_cached
from ._crypto import (
    certificate_signed_by,
    key_problem,
    signature_problem,
)
from ._fetch import HttpFetcher
from ._model import Purpose, ValidationPolicy, ValidationResult
from ._path import MalformedCertificate, get_extension, process_path
from ._profile import WEB_PURPOSES, check_web_profile
from ._purpose import check_purpose
from ._revocation import RevocationChecker, SignerValidator

__all__ = ["validate"]

_PARSE_ERRORS = (
    x509.InvalidVersion,
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    OverflowError,
    IndexError,
    MalformedCertificate,
)


class _LimitReached(Exception):
    """Internal: a bound on validation work was reached; ``limit`` names the policy field."""

    def __init__(self, limit: str, value: int, what: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.value = value
        self.what = what


_PATH_BUILDING_LIMITS = frozenset({"max_work", "max_signature_checks"})
"""Bounds on the search for a path: a path that failed validation before one of them
was reached says more than the bound does."""


def _spki(cert: x509.Certificate) -> bytes:
    return facts_of(cert).spki


class _Unset:
    """Marks a value not computed yet where ``None`` is a value."""


_UNSET = _Unset()

MAX_POOLS = 32
"""Sets of anchors and intermediates whose index is kept."""
MAX_RANKINGS = 256
"""Ranked candidate lists kept per set, by issuer name and authority key identifier."""


class _PoolIndex:
    """What path building derives from one set of trust anchors and intermediates.

    Shared by every validation given the very same certificate objects (a server
    that validates each client against its configured anchors and chain): the
    anchors and the pool without duplicates, the certificates by subject, the
    ranked candidates for an issuer, and the parts of a result key that come from
    these certificates. All of it is a function of the certificates alone; the work
    it stands for is still counted in each validation (``_Builder.candidates``).
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
            with contextlib.suppress(*_PARSE_ERRORS):
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
            except _PARSE_ERRORS:
                self._key_part = None
        return self._key_part


_POOLS: LruCache[tuple[tuple[int, ...], tuple[int, ...]], _PoolIndex] = LruCache(MAX_POOLS)


def _pool_index(
    anchors: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
) -> _PoolIndex:
    key = (tuple(map(id, anchors)), tuple(map(id, intermediates)))
    index = _POOLS.get(key)
    if index is None:
        index = _PoolIndex(anchors, intermediates)
        _POOLS.put(key, index)
    return index


def _index(
    by_subject: dict[NormalizedName, list[x509.Certificate]], cert: x509.Certificate
) -> None:
    try:
        key = facts_of(cert).subject_norm
    except _PARSE_ERRORS:
        return
    by_subject.setdefault(key, []).append(cert)


class _Builder:
    """Candidate issuers, signature cache and work counter for one validation."""

    def __init__(
        self,
        index: _PoolIndex,
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
            raise _LimitReached(
                "max_work", self.policy.max_work, "candidate issuers and signature checks"
            )

    def spend_name_constraint_checks(self, comparisons: int) -> None:
        """Count ``comparisons`` before they are made: a certificate whose names would
        take the total past the bound is refused without comparing any of them."""
        self.name_constraint_checks += comparisons
        if self.name_constraint_checks > self.policy.max_name_constraint_checks:
            raise _LimitReached(
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
            raise _LimitReached(
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
            except _PARSE_ERRORS:
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


def validate(
    cert: x509.Certificate,
    *,
    trust_anchors: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    at: datetime,
    purpose: Purpose = Purpose.ANY,
    hostname: str | None = None,
    crls: Iterable[x509.CertificateRevocationList] = (),
    ocsp_responses: Iterable[ocsp.OCSPResponse] = (),
    policy: ValidationPolicy | None = None,
    fetcher: HttpFetcher | None = None,
) -> ValidationResult:
    """Build and validate a certification path for ``cert`` (RFC 5280 section 6).

    Paths are built from ``cert`` through ``intermediates`` (an unordered,
    untrusted pool) to one of ``trust_anchors`` (self-signed or not: an
    anchor is trusted as given, but for its validity period, which
    ``policy.check_anchor_validity=False`` ignores). Every candidate issuer is
    tried, the AKI/SKI-matching and anchor ones first; a path that fails
    validation is abandoned for the next, within ``policy.max_work``.

    Revocation uses the given ``crls`` and ``ocsp_responses``; with a
    ``fetcher`` also CRL distribution points, OCSP responders and AIA
    caIssuers over ``http://``.

    Returns the first path that passes, end entity first. Raises a
    :class:`~trustkit.errors.ValidationError` subclass: PathBuildingError
    (no path), PathValidationError, DisallowedAlgorithmError,
    InvalidPurposeError, RevokedError or RevocationUnknownError, with
    ``path`` and ``index`` set to the certificate at fault.
    """
    if not isinstance(cert, x509.Certificate):
        raise TypeError("cert: expected a cryptography x509.Certificate")
    anchors = list(trust_anchors)
    if not anchors:
        raise ValueError("trust_anchors: at least one trust anchor is needed (RFC 5280 6.1.1 d)")
    for anchor in anchors:
        if not isinstance(anchor, x509.Certificate):
            raise TypeError("trust_anchors: expected cryptography x509.Certificate objects")
    if not isinstance(purpose, Purpose):
        raise TypeError("purpose: expected a Purpose")
    if hostname is not None and purpose is not Purpose.TLS_SERVER:
        raise ValueError("hostname: only checked for Purpose.TLS_SERVER")
    policy = policy if policy is not None else ValidationPolicy()
    # Certificate and CRL times are whole seconds (RFC 5280 4.1.2.5): the moment is
    # compared at that grain, as OpenSSL does, so notAfter lasts through its second.
    at = utc(at).replace(microsecond=0)
    pool = list(intermediates)
    crl_list = list(crls)
    ocsp_list = list(ocsp_responses)
    if not all(isinstance(c, x509.Certificate) for c in pool):
        raise TypeError("intermediates: expected cryptography x509.Certificate objects")
    if not all(isinstance(c, x509.CertificateRevocationList) for c in crl_list):
        raise TypeError("crls: expected cryptography x509.CertificateRevocationList objects")
    if not all(isinstance(r, ocsp.OCSPResponse) for r in ocsp_list):
        raise TypeError("ocsp_responses: expected cryptography ocsp.OCSPResponse objects")
    index = _pool_index(anchors, pool)
    key = None
    if fetcher is None and not ocsp_list:
        key = _result_key(cert, index, at, purpose, hostname, crl_list, policy)
        if key is not None:
            cached = RESULTS.get(key)
            if cached is not None:
                return cached
    try:
        result = _validate(
            cert,
            anchors,
            pool,
            at,
            purpose,
            hostname,
            crl_list,
            ocsp_list,
            policy,
            fetcher,
            depth=0,
            builder=_Builder(index, policy, fetcher),
        )
    except TrustkitError:
        raise
    except _LimitReached as limit:
        raise ValidationLimitError(
            f"validation gave up: more than {limit.value} {limit.what} "
            f"(ValidationPolicy.{limit.limit})",
            limit=limit.limit,
            value=limit.value,
            path=(cert,),
            index=0,
        ) from None
    except _PARSE_ERRORS as exc:
        raise PathValidationError(
            f"a certificate on the path cannot be parsed ({exc})", path=(cert,), index=0
        ) from None
    if key is not None and not any(
        f.revocation_time is not None for e in result.revocation for f in e.findings
    ):
        # A listed certificate (revoked or held after ``at``) makes the answer turn on
        # its revocation time, which the key's instants do not hold: not cached.
        RESULTS.put(key, result)
    return result


def _result_key(
    cert: x509.Certificate,
    index: _PoolIndex,
    at: datetime,
    purpose: Purpose,
    hostname: str | None,
    crls: Sequence[x509.CertificateRevocationList],
    policy: ValidationPolicy,
) -> Hashable | None:
    """What a successful validation's result depends on, or ``None`` when it cannot be told.

    Without a fetcher or OCSP responses, the only inputs that come from outside are
    the certificates (by DER), the CRLs (by identity, through the token of their
    cached facts: a CRL object is immutable; none is kept alive by a result), the
    purpose, host name and policy, and the time. The time enters validation only
    through comparisons with the validity bounds of the certificates given and with
    the CRLs' thisUpdate and nextUpdate (RFC 5280 6.1.3 a 2, 6.3.3 a); so every
    ``at`` that sorts the same way among those instants, equal to the same one or
    strictly between the same two, gives the same result. Where it sorts is counted:
    the anchors' and intermediates' instants are sorted once per pool
    (:meth:`_PoolIndex.key_part`), the certificate's and the CRLs' added to the count.
    """
    shared = index.key_part()
    if shared is None:
        return None
    ders, instants = shared
    try:
        own = list(facts_of(cert).validity)
        for crl in crls:
            own.append(crl.last_update_utc)
            if crl.next_update_utc is not None:
                own.append(crl.next_update_utc)
    except _PARSE_ERRORS:
        return None
    # bisect_left and bisect_right over all the instants sorted together.
    before = bisect.bisect_left(instants, at) + sum(1 for t in own if t < at)
    through = bisect.bisect_right(instants, at) + sum(1 for t in own if t <= at)
    return (
        facts_of(cert).der,
        ders,
        tuple(crl_facts_of(c).token for c in crls),
        before,
        through,
        purpose,
        hostname,
        policy,
    )


def _validate(
    cert: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate],
    at: datetime,
    purpose: Purpose,
    hostname: str | None,
    crls: list[x509.CertificateRevocationList],
    ocsp_list: list[ocsp.OCSPResponse],
    policy: ValidationPolicy,
    fetcher: HttpFetcher | None,
    *,
    depth: int,
    builder: _Builder | None = None,
) -> ValidationResult:
    builder = (
        builder if builder is not None else _Builder(_pool_index(anchors, pool), policy, fetcher)
    )
    anchor_set = set(anchors)

    def validate_signer(signer: x509.Certificate, anchor: x509.Certificate, d: int) -> str | None:
        if signer in anchor_set:
            return None
        if signer in builder.signers_in_progress:
            # The signer's own status hangs on the CRL being checked (an indirect CRL
            # that covers its issuer, PKITS 4.14.30): its signature has verified.
            return None
        builder.signers_in_progress.add(signer)
        try:
            _validate(
                signer,
                [anchor],
                [*builder.pool, *builder.anchors],
                at,
                Purpose.ANY,
                None,
                crls,
                ocsp_list,
                ValidationPolicy(
                    algorithms=policy.algorithms,
                    revocation=policy.revocation,
                    max_intermediates=policy.max_intermediates,
                    max_work=policy.max_work,
                    max_signature_checks=policy.max_signature_checks,
                    max_name_constraint_checks=policy.max_name_constraint_checks,
                    ocsp_tolerance=policy.ocsp_tolerance,
                    use_delta_crls=policy.use_delta_crls,
                ),
                fetcher,
                depth=d,
                builder=builder,
            )
        except ValidationError as exc:
            return str(exc)
        finally:
            builder.signers_in_progress.discard(signer)
        return None

    first_error: ValidationError | None = None
    try:
        for path in builder.paths(cert):
            try:
                return _check_path(
                    path,
                    at,
                    purpose,
                    hostname,
                    crls,
                    ocsp_list,
                    policy,
                    fetcher,
                    builder,
                    validate_signer,
                    depth,
                )
            except ValidationError as exc:
                if first_error is None:
                    first_error = exc
    except _LimitReached as limit:
        # A path that failed validation says more than running out of search budget;
        # the name-constraint bound is about the chain in hand and always stands.
        if first_error is not None and limit.limit in _PATH_BUILDING_LIMITS:
            raise first_error from None
        raise
    if first_error is not None:
        raise first_error
    where, why = builder.last_failure or (0, "no issuer found")
    raise PathBuildingError(
        f"no path to a trust anchor: certificate {where}: {why}", path=(cert,), index=where
    )


def _check_path(
    path: list[x509.Certificate],
    at: datetime,
    purpose: Purpose,
    hostname: str | None,
    crls: list[x509.CertificateRevocationList],
    ocsp_list: list[ocsp.OCSPResponse],
    policy: ValidationPolicy,
    fetcher: HttpFetcher | None,
    builder: _Builder,
    validate_signer: SignerValidator,
    depth: int,
) -> ValidationResult:
    algorithms = policy.algorithms

    def disallowed(index: int, message: str) -> DisallowedAlgorithmError:
        subject = format_name(path[index].subject)
        return DisallowedAlgorithmError(
            f"certificate {index} ({subject}): {message} (algorithm policy)",
            path=path,
            index=index,
        )

    # Keys on the path, the end entity's and the anchor's included.
    for index, cert in enumerate(path):
        facts = facts_of(cert)
        key = facts.key
        if key is None:
            if index == 0 or index < len(path) - 1 or len(path) == 1:
                raise disallowed(index, "public key algorithm is not supported")
            continue
        memo_key = ("key problem", algorithms)
        if memo_key not in facts.memo:  # a function of the key and the algorithm policy
            facts.memo[memo_key] = key_problem(key, algorithms) or facts.curve_encoding_problem()
        why = facts.memo[memo_key]
        if why is not None:
            raise disallowed(index, str(why))

    def signed_by(index: int) -> str | None:
        child, parent = path[index], path[index + 1]
        try:
            hash_algorithm = child.signature_hash_algorithm
        except UnsupportedAlgorithm:
            raise disallowed(index, "signature algorithm is not supported") from None
        why = signature_problem(hash_algorithm, child.signature_algorithm_oid, algorithms)
        if why is not None:
            raise disallowed(index, why)
        if not builder.signs(child, parent):
            return "signature does not verify with the issuer's key (RFC 5280 6.1.3 a 1)"
        return None

    for index, cert in enumerate(path[:-1]):
        try:
            encoding = facts_of(cert).encoding
        except DecodeError as exc:
            raise PathValidationError(
                f"certificate {index}: {exc}", path=path, index=index
            ) from None
        if not encoding.signature_algorithms_match:
            raise PathValidationError(
                f"certificate {index} ({format_name(path[index].subject)}): "
                "signatureAlgorithm differs from the TBSCertificate signature field "
                "(RFC 5280 4.1.1.2)",
                path=path,
                index=index,
            )
    outcome = process_path(
        path,
        at=at,
        policy=policy,
        signed_by=signed_by,
        spend_name_checks=builder.spend_name_constraint_checks,
    )
    check_purpose(path, purpose, hostname)
    if purpose in WEB_PURPOSES:
        check_web_profile(path, purpose, policy.web_profile)
    checker = RevocationChecker(
        policy=policy,
        at=at,
        crls=crls,
        ocsp_responses=ocsp_list,
        pool=[*builder.pool, *builder.anchors],
        validate_signer=validate_signer,
        fetch_crl=_memo(fetcher.fetch_crl) if fetcher is not None else None,
        fetch_ocsp=fetcher.fetch_ocsp if fetcher is not None else None,
        depth=depth,
    )
    evidence = checker.check_path(path)
    return ValidationResult(
        path=tuple(path),
        authorities_constrained_policy_set=outcome.authorities_constrained,
        user_constrained_policy_set=outcome.user_constrained,
        revocation=evidence,
    )


def _memo(
    fetch: Callable[[str], x509.CertificateRevocationList | None],
) -> Callable[[str], x509.CertificateRevocationList | None]:
    cache: dict[str, x509.CertificateRevocationList | None] = {}

    def get(url: str) -> x509.CertificateRevocationList | None:
        if url not in cache:
            cache[url] = fetch(url)
        return cache[url]

    return get
