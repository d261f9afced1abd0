"""Which CAs a service answers for: CA directories, or directories holding them.

One service serves each CA name once: two CAs with the same name (the slug
in their URLs: ``ca.name`` is URL-safe already), or the same CA opened from
two directories, are refused with a one-line
:class:`~trustkit.errors.ConfigError` before anything is served. A root
rollover that kept its common name is the usual cause; give the new
generation its own name in its ``trustkit.toml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..ca import CertificateAuthority
from ..clock import Clock
from ..config import CONFIG_FILE, CAConfig
from ..errors import ConfigError


def check_unique(authorities: Sequence[CertificateAuthority]) -> None:
    """Refuse two CAs with the same name or key (see the module notes)."""
    by_name: dict[str, CertificateAuthority] = {}
    by_key: dict[str, CertificateAuthority] = {}
    for ca in authorities:
        name = ca.config.name
        other = by_name.setdefault(name, ca)
        if other is not ca:
            raise ConfigError(
                f"CA name {name}: {ca.directory} has the same name as {other.directory}; "
                "CA names must be unique within one service (rename one in its trustkit.toml)"
            )
        twin = by_key.setdefault(ca.id, ca)
        if twin is not ca:
            raise ConfigError(
                f"CA {name}: {ca.directory} holds the same CA key as {twin.directory} "
                f"({twin.config.name}); serve each CA once"
            )


def discover_authorities(
    paths: Sequence[str | Path],
    *,
    passphrase: bytes | Callable[[], bytes] | None = None,
    passphrases: Mapping[str, bytes] | None = None,
    clock: Clock | None = None,
) -> list[CertificateAuthority]:
    """Open every CA under ``paths``: each is a CA directory or holds CA directories.

    A CA named in ``passphrases`` (by ``config.name``) is opened with its own
    passphrase, every other one with ``passphrase``. CAs whose names collide
    are refused (:func:`check_unique`).
    """
    own = dict(passphrases or {})
    found: list[CertificateAuthority] = []
    seen: set[Path] = set()
    try:
        for path in map(Path, paths):
            candidates = (
                [path]
                if (path / CONFIG_FILE).exists()
                else sorted(p for p in path.iterdir() if (p / CONFIG_FILE).exists())
                if path.is_dir()
                else []
            )
            if not candidates:
                raise ConfigError(f"{path}: neither a CA directory nor a directory holding CAs")
            for directory in candidates:
                resolved = directory.resolve()
                if resolved not in seen:
                    seen.add(resolved)
                    secret = own.get(CAConfig.load(directory).name, passphrase)
                    found.append(
                        CertificateAuthority.open(directory, passphrase=secret, clock=clock)
                    )
        check_unique(found)
        unknown = sorted(set(own) - {ca.config.name for ca in found})
        if unknown:
            names = ", ".join(ca.config.name for ca in found)
            raise ConfigError(f"passphrase for CA {unknown[0]}: no such CA here (found: {names})")
    except BaseException:
        for ca in found:
            ca.close()
        raise
    return found
