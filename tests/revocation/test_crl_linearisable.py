"""CRL publication is linearisable: CRL n+1 lists all CRL n listed; thisUpdate never goes back.

The interleaving that broke it: publisher A reads the revoked entries,
publisher B revokes a certificate and publishes (taking CRL number 1, listing
it), then A takes number 2 and publishes without it. A relying party that
fetches the higher number believes the certificate good.

The tests force that order: A is stopped right after it read the entries and
B is run in a thread; A goes on when B has finished or has waited
``_B_WINDOW`` seconds (the store must make it wait: A holds the lock). Either
way the two CRLs must agree with their numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.revocation import crl as crl_module
from trustkit.revocation.crl import PublishedCRL, build_crl

from .conftest import PASSPHRASE, Hierarchy, make_hierarchy

_B_WINDOW = 3.0
"""Seconds A waits for B; B finishing inside it means the store let B overtake A."""


def _serials(published: PublishedCRL) -> set[int]:
    return {entry.serial_number for entry in published.crl}


def _pause_after_reading(
    monkeypatch: pytest.MonkeyPatch, hook: Callable[[], None], function: str
) -> None:
    """Run ``hook`` once, in the first caller, right after ``crl.<function>`` returns."""
    original = getattr(crl_module, function)
    fired = threading.Event()

    def paused(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not fired.is_set() and threading.current_thread() is threading.main_thread():
            fired.set()
            hook()
        return result

    monkeypatch.setattr(crl_module, function, paused)


def _run_b(action: Callable[[], PublishedCRL]) -> Callable[[], None]:
    """A hook that starts B in a thread and lets A go on when B is done or stuck."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["crl"] = action()
        except BaseException as exc:  # reported by the test
            outcome["error"] = exc

    thread = threading.Thread(target=body, daemon=True)

    def hook() -> None:
        thread.start()
        thread.join(_B_WINDOW)

    hook.thread = thread  # type: ignore[attr-defined]
    hook.outcome = outcome  # type: ignore[attr-defined]
    return hook


def _b_result(hook: Callable[[], None]) -> PublishedCRL:
    thread: threading.Thread = hook.thread  # type: ignore[attr-defined]
    thread.join(60)
    outcome: dict[str, Any] = hook.outcome  # type: ignore[attr-defined]
    assert "error" not in outcome, outcome.get("error")
    result: PublishedCRL = outcome["crl"]
    return result


def _other_handle(h: Hierarchy) -> CertificateAuthority:
    """Publisher B: the same CA opened again, as another process would."""
    return CertificateAuthority.open(h.directory / "ca", passphrase=PASSPHRASE)


def _check_pair(first: PublishedCRL, second: PublishedCRL) -> None:
    low, high = sorted((first, second), key=lambda c: c.crl_number)
    assert _serials(low) <= _serials(high), (
        f"CRL {high.crl_number} lacks {_serials(low) - _serials(high)} "
        f"that CRL {low.crl_number} lists"
    )
    assert high.this_update >= low.this_update


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_reads_b_revokes_and_publishes_a_publishes(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = None if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    h = make_hierarchy(tmp_path, store=store)
    b = _other_handle(h)
    try:
        at = h.ca.clock.now()
        h.ca.key  # noqa: B018 - unlocked before the race, as a running publisher would be
        b.key  # noqa: B018

        def b_revokes_and_publishes() -> PublishedCRL:
            b.revoke(h.good.serial, x509.ReasonFlags.key_compromise)
            return build_crl(b, at=at)

        hook = _run_b(b_revokes_and_publishes)
        _pause_after_reading(monkeypatch, hook, "_complete_entries")
        a = build_crl(h.ca, at=at)
        b_crl = _b_result(hook)
        assert {a.crl_number, b_crl.crl_number} == {1, 2}
        _check_pair(a, b_crl)
        # Whatever the order, the newest CRL lists the victim.
        newest = max((a, b_crl), key=lambda c: c.crl_number)
        assert h.good.serial in _serials(newest)
    finally:
        b.close()
        h.ca.close()


def test_the_pair_check_notices_a_dropped_revocation(hierarchy: Hierarchy) -> None:
    # The twin: the check itself must refuse a higher number that lacks an entry.
    ca = hierarchy.ca
    at = ca.clock.now()
    fewer = build_crl(ca, at=at)
    ca.revoke(hierarchy.good.serial, x509.ReasonFlags.superseded)
    more = build_crl(ca, at=at)
    _check_pair(fewer, more)
    with pytest.raises(AssertionError, match="lacks"):
        _check_pair(replace(more, crl_number=1), replace(fewer, crl_number=2))


def test_a_reads_for_a_delta_b_revokes_and_publishes_a_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A builds a delta: it has read its base (a complete CRL) and the entries
    # since; B revokes and publishes a complete CRL. A's delta either comes
    # first, or lists (with its base) everything B's CRL lists.
    h = make_hierarchy(tmp_path, delta=True)
    b = _other_handle(h)
    try:
        at = h.ca.clock.now()
        base = build_crl(h.ca, at=at)
        h.ca.key  # noqa: B018
        b.key  # noqa: B018

        def b_revokes_and_publishes() -> PublishedCRL:
            b.revoke(h.good.serial, x509.ReasonFlags.key_compromise)
            return build_crl(b, at=at)

        hook = _run_b(b_revokes_and_publishes)
        _pause_after_reading(monkeypatch, hook, "_delta_entries")
        delta = build_crl(h.ca, at=at, delta=True)
        b_crl = _b_result(hook)
        assert delta.base_crl_number == base.crl_number
        view = _serials(base) | _serials(delta)
        if delta.crl_number > b_crl.crl_number:
            assert _serials(b_crl) <= view, "the delta numbered above B's CRL lacks its entries"
        else:
            assert h.good.serial not in view and h.good.serial in _serials(b_crl)
        assert b_crl.this_update >= delta.this_update or delta.crl_number > b_crl.crl_number
    finally:
        b.close()
        h.ca.close()


def test_this_update_never_goes_back(hierarchy: Hierarchy) -> None:
    ca = hierarchy.ca
    at = ca.clock.now()
    first = build_crl(ca, at=at)
    # A publisher whose clock is behind (or a caller's old ``at``): clamped, not backwards.
    late = build_crl(ca, at=at - timedelta(hours=2))
    assert late.crl_number > first.crl_number
    assert late.this_update == first.this_update
    assert late.crl.last_update_utc == first.this_update
    assert late.next_update == first.this_update + ca.config.crl_next_update
    # The twin: a caller ahead in time moves it forward.
    ahead = build_crl(ca, at=at + timedelta(minutes=5))
    assert ahead.this_update == first.this_update + timedelta(minutes=5)
