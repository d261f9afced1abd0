"""SoftHSM2 tokens in a temporary directory, for tests that need a real PKCS#11 token.

A test module makes its fixtures from these helpers::

    @pytest.fixture(scope="session")
    def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHSM:
        return softhsm_for_process(tmp_path_factory.mktemp("softhsm"))

    @pytest.fixture
    def hsm_token(softhsm: SoftHSM) -> HSMToken:
        return new_token(softhsm)

:func:`softhsm_for_process` points ``SOFTHSM2_CONF`` at a configuration
whose ``directories.tokendir`` is a temporary directory, once for the whole
test process: SoftHSM2 reads the variable when the module is initialised,
so every test module must share one. :func:`new_token` initialises a fresh
token (``softhsm2-util --init-token --free``);
``trustkit.pkcs11.open_token`` re-initialises the module once to see it.
Without SoftHSM2 the tests are skipped, except under CI (``$CI`` set),
where it is a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require

USER_PIN = "4711-user"
"""The user PIN of every test token."""

SO_PIN = "0815-security-officer"
"""The security officer PIN of every test token."""

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)

_labels = itertools.count(1)


@dataclass(frozen=True)
class SoftHSM:
    """A SoftHSM2 configuration whose tokens live in a temporary directory."""

    module: str
    """Path of ``libsofthsm2.so``."""
    conf: Path
    """The ``softhsm2.conf`` that ``SOFTHSM2_CONF`` points at."""
    token_dir: Path
    """``directories.tokendir``."""
    util: str
    """Path of ``softhsm2-util``."""

    def create_token(self, label: str, *, pin: str = USER_PIN, so_pin: str = SO_PIN) -> None:
        """Initialise a new token labelled ``label`` in the first free slot."""
        subprocess.run(
            [
                self.util,
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                so_pin,
                "--pin",
                pin,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
        )


@dataclass(frozen=True)
class HSMToken:
    """One initialised token: its label, PIN and module, as a test needs them."""

    softhsm: SoftHSM
    label: str
    pin: str = USER_PIN

    @property
    def module(self) -> str:
        """Path of the PKCS#11 module."""
        return self.softhsm.module

    def uri(self, object_label: str | None = None) -> str:
        """A ``pkcs11:`` URI for this token, and for an object on it if a label is given."""
        text = f"pkcs11:token={self.label}"
        return text + (f";object={object_label}" if object_label else "")


def find_softhsm() -> tuple[str, str] | None:
    """``(module, softhsm2-util)`` if SoftHSM2 is installed, else ``None``."""
    util = shutil.which("softhsm2-util")
    module = next((path for path in MODULE_CANDIDATES if Path(path).is_file()), None)
    if util is None or module is None:
        return None
    return module, util


_instance: SoftHSM | None = None


def softhsm_for_process(base: Path) -> SoftHSM:
    """The process's one SoftHSM2 configuration, made under ``base`` the first time.

    One per process, because SoftHSM2 reads ``SOFTHSM2_CONF`` when the
    module is initialised; ``SOFTHSM2_CONF`` is set for the rest of the
    process.
    """
    global _instance
    if _instance is not None:
        return _instance
    found = find_softhsm()
    if found is None:
        require("SoftHSM2 (softhsm2-util and libsofthsm2.so)")
        raise AssertionError("unreachable")  # require() skips or fails
    module, util = found
    token_dir = base / "tokens"
    token_dir.mkdir(parents=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {token_dir}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    _instance = SoftHSM(module=module, conf=conf, token_dir=token_dir, util=util)
    return _instance


def new_token(softhsm: SoftHSM) -> HSMToken:
    """A fresh, initialised token with a label of its own and PIN :data:`USER_PIN`."""
    token = HSMToken(softhsm, f"test-token-{next(_labels)}")
    softhsm.create_token(token.label)
    return token
