"""Numbers an operator types: validity days and path lengths are checked at the boundary.

A validity of a billion days, or of minus one, and a pathLenConstraint of
minus one used to end in OverflowError or cryptography's ValueError deep
inside; each is now an :class:`~trustkit.errors.InputError` (a
``TrustkitError`` and a ``ValueError``) naming the field and the rule, and
a profile that says ``validity_days = -5`` does not load.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.config import CAConfig
from trustkit.csr import create_csr
from trustkit.errors import ConfigError, InputError, ProfileError, TrustkitError
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.profiles import MAX_VALIDITY_DAYS, profiles_from_config

from .conftest import TEST_TIME

BAD_DAYS = [10**9, -(10**9), 10**30, -1, 0, MAX_VALIDITY_DAYS + 1, True, 1.5]


def _root(tmp_path: Path, **kwargs: object) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        "CN=Bounds Root,O=Example,C=EX",
        tmp_path / "root",
        passphrase=None,
        allow_unencrypted_key=True,
        key_type="ec-p256",
        clock=FixedClock(TEST_TIME),
        **kwargs,  # type: ignore[arg-type]
    )


def _csr() -> object:
    return create_csr(
        generate_key("ec-p256"),
        parse_name("CN=www.example.gov"),
        parse_general_names(["dns:www.example.gov"]),
    )


@pytest.mark.parametrize("days", BAD_DAYS)
def test_create_root_refuses_days_out_of_range(tmp_path: Path, days: object) -> None:
    with pytest.raises(InputError, match=rf"^days {days!r}: must be a whole number of days from 1"):
        _root(tmp_path, days=days)
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize("days", BAD_DAYS)
def test_issue_refuses_days_out_of_range(tmp_path: Path, days: object) -> None:
    with _root(tmp_path) as ca:
        with pytest.raises(InputError, match=rf"^days {days!r}: "):
            ca.issue(_csr(), "tls-server", days=days)  # type: ignore[arg-type]
        with pytest.raises(InputError, match=rf"^days {days!r}: "):
            ca.create_subordinate(
                "CN=Bounds Sub,O=Example,C=EX",
                tmp_path / "sub",
                passphrase=None,
                allow_unencrypted_key=True,
                days=days,  # type: ignore[arg-type]
            )
        assert [r.profile for r in ca.list()] == ["root-ca"]
    assert not (tmp_path / "sub").exists()


def test_sound_days_are_issued_and_a_long_one_is_a_policy_matter(tmp_path: Path) -> None:
    # The twins: in range, the days are used; above the profile's cap (but within a
    # century) the policy still answers as before.
    from trustkit.errors import PolicyViolation

    with _root(tmp_path, days=20 * 365) as ca:
        issued = ca.issue(_csr(), "tls-server", days=30)
        lifetime = issued.certificate.not_valid_after_utc - issued.certificate.not_valid_before_utc
        assert lifetime.days == 30
        with pytest.raises(PolicyViolation, match="exceeds"):
            ca.issue(_csr(), "tls-server", days=MAX_VALIDITY_DAYS)


def test_an_error_is_both_a_trustkit_error_and_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(TrustkitError), _root(tmp_path, days=-1):
        pass
    with pytest.raises(ValueError), _root(tmp_path, days=-1):
        pass


@pytest.mark.parametrize("path_length", [-1, -(10**9), True, "1"])
def test_negative_path_lengths_are_refused(tmp_path: Path, path_length: object) -> None:
    with pytest.raises(InputError, match=r"path_length .*: must be a whole number, 0 or more"):
        _root(tmp_path, path_length=path_length)
    with _root(tmp_path) as ca:
        with pytest.raises(InputError, match="path_length"):
            ca.create_subordinate(
                "CN=Bounds Sub,O=Example,C=EX",
                tmp_path / "sub",
                passphrase=None,
                allow_unencrypted_key=True,
                path_length=path_length,  # type: ignore[arg-type]
            )
        # The twin: zero is a sound constraint.
        sub = ca.create_subordinate(
            "CN=Bounds Sub,O=Example,C=EX",
            tmp_path / "sub",
            passphrase=None,
            allow_unencrypted_key=True,
            path_length=0,
        )
        sub.close()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("validity_days", -5),
        ("validity_days", 0),
        ("validity_days", 10**12),
        ("validity_days", 30.5),
        ("validity_days", "30"),
        ("max_validity_days", -5),
        ("max_validity_days", 10**12),
        ("path_length", -1),
    ],
)
def test_profile_numbers_out_of_range_do_not_load(setting: str, value: object) -> None:
    profile = "sub-ca" if setting == "path_length" else "tls-server"
    with pytest.raises(ProfileError, match=rf"^profile {profile}: {setting} {value!r}: "):
        profiles_from_config({profile: {setting: value}})
    with pytest.raises(ConfigError, match=rf"profile {profile}: {setting} "):
        CAConfig.from_mapping({"ca": {"name": "x"}, "profiles": {profile: {setting: value}}})


def test_sound_profile_numbers_load() -> None:
    profiles = profiles_from_config(
        {"tls-server": {"validity_days": 30}, "sub-ca": {"path_length": 0}}
    )
    assert profiles["tls-server"].validity.days == 30
    assert profiles["sub-ca"].path_length == 0
