"""Shared fixtures: a frozen clock, store URLs for SQLite and a real PostgreSQL.

PostgreSQL tests use the server named by ``TRUSTKIT_TEST_POSTGRES`` (a
SQLAlchemy URL; ``.ci/run`` starts one on 127.0.0.1 and sets it). Each test
gets a schema of its own. Without the variable the tests are skipped, except
under CI, where a missing server is a failure.

Key and PKCS#12 files written by the tests, in this process and in the CLI and
server processes it starts, use the least PBKDF2 count RFC 8018 allows
(``$TRUSTKIT_TEST_KDF_ITERATIONS``, a test-only setting) instead of the
shipped 600,000: at about 0.1 s per file written and again per file read,
that is minutes of the suite. Tests of the shipped count unset it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.serving import StaticServer
from trustkit.clock import FixedClock
from trustkit.keys import MIN_PBKDF2_ITERATIONS, TEST_KDF_ITERATIONS_ENV

if TYPE_CHECKING:
    from tests.hsm_token import HSMToken, SoftHSM

# Set at import, before any test or worker process starts, so subprocesses inherit it.
os.environ.setdefault(TEST_KDF_ITERATIONS_ENV, str(MIN_PBKDF2_ITERATIONS))

# The suite runs on parallel workers (pytest-xdist), often on a machine doing other
# work: how long hypothesis takes to draw an input then says nothing about the strategy,
# and its wall-clock "too slow" health check would fail a test that found nothing wrong.
# Deadlines and every other health check stay as each test sets them.
settings.register_profile("trustkit", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("trustkit")

TEST_TIME = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
"""The frozen 'now' of tests that do not care which day it is."""


def require(what: str) -> None:
    """Skip the test for lack of ``what``; under CI, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} not available")


SLOW = (
    "robustness/",  # kill -9 at random points, eight processes on one store
    "examples/",  # each example end to end, with its servers
    "service/test_abuse.py",  # load and garbage against a running service
    "validation/test_name_constraint_matrix.py",  # BetterTLS's 8,748 cases
    "test_fuzz_properties.py",  # hypothesis over whole CA configurations and PKI specs
    "store/test_scale_answers.py",  # a population of certificates built before it answers
    "store/test_store_upgrade.py",  # schema upgrades, two processes racing to upgrade
    "test_serve_passphrases.py",  # a real `trustkit serve` started for each passphrase case
)
"""Test files (under tests/) marked ``slow``: the fast subset leaves them out (a test
file may also mark single tests ``slow``, as the memory measurements of listing do)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests for the fast subset, ``-m "not interop and not postgres and not slow"``.

    ``postgres``: every test that reaches PostgreSQL, through :func:`postgres_url`
    directly or as the ``postgresql`` case of a parametrized backend
    (:func:`store_url` and the like). ``slow``: the tests in :data:`SLOW`.
    ``interop`` is marked in the test files themselves.
    """
    tests_dir = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(tests_dir).as_posix()
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if "postgres_url" in fixtures or any(p == "postgresql" for p in params):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def static_server() -> Iterator[StaticServer]:
    """A real HTTP server on 127.0.0.1 serving the bytes a test puts in its ``routes``."""
    with StaticServer.running() as server:
        yield server


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_TIME)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL store URL whose tables live in a fresh schema, dropped afterwards."""
    base = os.environ.get("TRUSTKIT_TEST_POSTGRES")
    if not base:
        require("PostgreSQL (TRUSTKIT_TEST_POSTGRES)")
    assert base is not None
    import sqlalchemy as sa

    schema = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against the SQLite default and a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHSM:
    """The test process's SoftHSM2 configuration (tests/hsm_token.py)."""
    from tests.hsm_token import softhsm_for_process

    return softhsm_for_process(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def hsm_token(softhsm: SoftHSM) -> HSMToken:
    """A fresh SoftHSM2 token of this test's own."""
    from tests.hsm_token import new_token

    return new_token(softhsm)
