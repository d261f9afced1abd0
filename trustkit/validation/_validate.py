"""The ``validate`` entry point: path building (:mod:`._build`), then each path checked
(RFC 5280 6.1, purpose, web PKI profile, revocation) until one passes."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable, Sequence
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
from ..names import format_name
from ._build import (
    PARSE_ERRORS,
    PATH_BUILDING_LIMITS,
    Builder,
    LimitReached,
    PoolIndex,
    pool_index,
)
from ._cache import RESULTS, crl_facts_of, facts_of
from ._crypto import (
    key_problem,
    signature_problem,
)
from ._fetch import HttpFetcher
from ._model import Purpose, ValidationPolicy, ValidationResult
from ._path import process_path
from ._profile import WEB_PURPOSES, check_web_profile
from ._purpose import check_purpose
from ._revocation import RevocationChecker, SignerValidator

__all__ = ["validate"]


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
    index = pool_index(anchors, pool)
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
            builder=Builder(index, policy, fetcher),
        )
    except TrustkitError:
        raise
    except LimitReached as limit:
        raise ValidationLimitError(
            f"validation gave up: more than {limit.value} {limit.what} "
            f"(ValidationPolicy.{limit.limit})",
            limit=limit.limit,
            value=limit.value,
            path=(cert,),
            index=0,
        ) from None
    except PARSE_ERRORS as exc:
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
    index: PoolIndex,
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
    (:meth:`PoolIndex.key_part`), the certificate's and the CRLs' added to the count.
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
    except PARSE_ERRORS:
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
    builder: Builder | None = None,
) -> ValidationResult:
    builder = (
        builder if builder is not None else Builder(pool_index(anchors, pool), policy, fetcher)
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
    except LimitReached as limit:
        # A path that failed validation says more than running out of search budget;
        # the name-constraint bound is about the chain in hand and always stands.
        if first_error is not None and limit.limit in PATH_BUILDING_LIMITS:
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
    builder: Builder,
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
