"""Injectable time.

Nothing deep inside trustkit calls ``now()``: functions take ``at=`` or a
:class:`Clock`. Every datetime trustkit hands out is timezone-aware UTC.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "utc", "utcnow"]


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> _dt.datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The machine's clock, truncated to whole seconds as X.509 times are."""

    def now(self) -> _dt.datetime:
        return utcnow()


@dataclass(frozen=True)
class FixedClock:
    """A clock that always says the same time; for tests and reproducible data."""

    at: _dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))

    def now(self) -> _dt.datetime:
        return self.at


def utcnow() -> _dt.datetime:
    """The current UTC time, whole seconds."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def utc(value: _dt.datetime) -> _dt.datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)
