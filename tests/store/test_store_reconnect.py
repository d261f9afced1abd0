"""PostgreSQL connections without a ping per call: a dead one costs one retry, not an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography import x509

from trustkit.errors import NotFoundError, StoreError
from trustkit.store.sql import SQLStore, _met_dead_connection

AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _backend_pids(store: SQLStore) -> set[int]:
    """The server processes behind the store's pooled connections (one call each)."""
    pids: set[int] = set()
    with store._engine.connect() as conn:
        pids.add(int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()))
    return pids


def _terminate(url: str, pids: set[int]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for pid in pids:
                assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            # Wait until the server has really ended them.
            for _ in range(200):
                alive = conn.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                    {"p": list(pids)},
                ).scalar_one()
                if not alive:
                    break
                conn.exec_driver_sql("SELECT pg_sleep(0.01)")
    finally:
        engine.dispose()


def test_no_ping_round_trip_per_call(postgres_url: str) -> None:
    store = SQLStore(postgres_url)
    try:
        assert not store._engine.pool._pre_ping
        statements: list[str] = []
        sa.event.listen(store._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        store.status("issuer", 1)
        # One SELECT: no "SELECT 1" liveness ping before it.
        assert len(statements) == 1 and "certificates" in statements[0]
    finally:
        store.close()


@pytest.mark.parametrize("call", ["status", "revoke", "next_counter"])
def test_a_call_after_the_server_ended_the_connection_succeeds(
    postgres_url: str, call: str
) -> None:
    store = SQLStore(postgres_url)
    try:
        assert store.next_counter("issuer", "c") == 1
        _terminate(postgres_url, _backend_pids(store))
        if call == "status":
            assert store.status("issuer", 1) is None
        elif call == "revoke":
            with pytest.raises(NotFoundError):
                store.revoke("issuer", 1, reason=x509.ReasonFlags.superseded, at=AT)
        else:
            # Applied exactly once: the retry did not advance the counter twice.
            assert store.next_counter("issuer", "c") == 2
            assert store.next_counter("issuer", "c") == 3
    finally:
        store.close()


def test_only_a_failed_statement_is_retried_never_a_failed_commit() -> None:
    dead = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    dead.connection_invalidated = True
    assert _met_dead_connection(dead)
    assert _met_dead_connection(_wrapped(dead))
    # Mirror: a COMMIT (no statement) whose outcome is unknown is not run again.
    at_commit = sa.exc.OperationalError(None, None, Exception("server closed the connection"))
    at_commit.connection_invalidated = True
    assert not _met_dead_connection(at_commit)
    # Mirror: an error on a live connection (a constraint, a syntax error) is not retried.
    live = sa.exc.OperationalError("SELECT 1", {}, Exception("deadlock detected"))
    assert not _met_dead_connection(live)


def _wrapped(exc: Exception) -> StoreError:
    try:
        raise StoreError("store: issuance not recorded") from exc
    except StoreError as wrapped:
        return wrapped
