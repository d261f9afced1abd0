"""Built-in profiles and profiles defined in trustkit.toml."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trustkit.config import CAConfig
from trustkit.errors import ConfigError, ProfileError
from trustkit.profiles import (
    BUILTIN_PROFILES,
    KeyUsageBit,
    Profile,
    QcType,
    get_profile,
    profiles_from_config,
)
from trustkit.validation import Purpose

EXPECTED = {
    "root-ca",
    "sub-ca",
    "tls-server",
    "tls-client",
    "citizen-auth",
    "qualified-signature",
    "org-seal",
    "code-signing",
    "ocsp-signing",
    "timestamping",
}


def test_every_builtin_profile_is_there() -> None:
    assert set(BUILTIN_PROFILES) == EXPECTED


def test_profiles_are_frozen() -> None:
    profile = get_profile("tls-server")
    with pytest.raises(AttributeError):
        profile.validity = timedelta(days=1)  # type: ignore[misc]


def test_profile_contents() -> None:
    assert get_profile("qualified-signature").key_usage == {KeyUsageBit.CONTENT_COMMITMENT}
    qc = get_profile("qualified-signature").qc_statements
    assert qc is not None and qc.sscd and qc.qc_type is QcType.ESIGN
    seal = get_profile("org-seal")
    assert seal.qc_statements is not None and seal.qc_statements.qc_type is QcType.ESEAL
    assert NameOID.ORGANIZATION_IDENTIFIER in seal.required_subject
    stamping = get_profile("timestamping")
    assert stamping.extended_key_usage == (ExtendedKeyUsageOID.TIME_STAMPING,)
    assert stamping.extended_key_usage_critical
    assert get_profile("ocsp-signing").ocsp_no_check
    assert NameOID.SERIAL_NUMBER in get_profile("citizen-auth").required_subject


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="known profiles are citizen-auth"):
        get_profile("tls")


def test_inconsistent_profiles_are_refused() -> None:
    with pytest.raises(ProfileError, match="keyCertSign"):
        Profile(name="bad", description="", key_usage=frozenset({KeyUsageBit.CRL_SIGN}), is_ca=True)
    with pytest.raises(ProfileError, match="need a CA profile"):
        Profile(name="bad", description="", key_usage=frozenset({KeyUsageBit.KEY_CERT_SIGN}))
    with pytest.raises(ProfileError, match="exceeds max_validity"):
        Profile(
            name="bad",
            description="",
            key_usage=frozenset({KeyUsageBit.DIGITAL_SIGNATURE}),
            validity=timedelta(days=10),
            max_validity=timedelta(days=5),
        )


def test_toml_tables_override_and_define() -> None:
    profiles = profiles_from_config(
        {
            "tls-server": {"validity_days": 90},
            "mail": {
                "base": "tls-client",
                "key_usage": ["digitalSignature", "keyEncipherment"],
                "extended_key_usage": ["emailProtection", "1.3.6.1.4.1.311.20.2.2"],
                "san_kinds": ["email"],
                "certificate_policies": ["1.3.6.1.4.1.99999.1"],
            },
        }
    )
    assert profiles["tls-server"].validity == timedelta(days=90)
    mail = profiles["mail"]
    assert KeyUsageBit.KEY_ENCIPHERMENT in mail.key_usage
    assert mail.extended_key_usage[0] == ExtendedKeyUsageOID.EMAIL_PROTECTION
    assert mail.extended_key_usage[1].dotted_string == "1.3.6.1.4.1.311.20.2.2"
    assert get_profile("tls-server").validity != timedelta(days=90)  # built-ins untouched


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"nope": {"validity_days": 3}}, "needs base"),
        ({"x": {"base": "tls-client", "colour": "blue"}}, "unknown setting"),
        ({"x": {"base": "tls-client", "key_usage": ["flying"]}}, "key usage 'flying'"),
        ({"x": {"base": "tls-client", "extended_key_usage": ["not-an-oid"]}}, "not a known name"),
        ({"x": {"base": "tls-client", "san_required": "yes"}}, "true or false"),
        ({"x": {"base": "tls-client", "validity_days": "long"}}, "profile x"),
        ({"x": {"base": "tls-client", "subject_patterns": {"CN": "("}}}, "profile x"),
        ({"x": {"base": "tls-client", "purpose": "flying"}}, "purpose 'flying' is unknown"),
        ({"x": {"base": "tls-client", "max_sans": 0}}, "max_sans must be at least 1"),
        ({"x": {"base": "tls-client", "cabf_names": "yes"}}, "cabf_names must be true or false"),
        ({"x": {"base": "tls-client", "may_outlive_issuer": 1}}, "true or false"),
    ],
)
def test_bad_profile_tables(table: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profiles_from_config(table)


PDS_EN = "https://pki.example.gov/pds/en.pdf"


def test_pds_table_adds_disclosure_statements() -> None:
    pds = {"en": PDS_EN, "et": "https://pki.example.gov/pds/et.pdf"}
    profiles = profiles_from_config({"qualified-signature": {"pds": pds}})
    qc = profiles["qualified-signature"].qc_statements
    assert qc is not None and qc.pds == tuple(pds.items())
    assert qc.sscd  # the rest of the built-in statements stay
    assert get_profile("qualified-signature").qc_statements.pds == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("pds", "message"),
    [
        ({"en": "http://pki.example.gov/pds.pdf"}, "must be https"),
        ({"en": "https://"}, "must be https"),
        ({"et": "https://pki.example.gov/pds.pdf"}, "in English"),
        ({"english": PDS_EN}, "ISO 639-1"),
        ({"EN": PDS_EN}, "lower case"),
        ({"en": "https://pki.example.gov/my pds.pdf"}, "without spaces"),
        ({"en": "https://[::1/pds.pdf"}, "must be https"),
        ([PDS_EN], "table of language"),
        ({"en": 7}, "table of language"),
    ],
)
def test_bad_pds_tables(pds: object, message: str) -> None:
    with pytest.raises(ProfileError, match=rf"profile qualified-signature: .*{message}"):
        profiles_from_config({"qualified-signature": {"pds": pds}})


def test_pds_needs_qc_statements() -> None:
    with pytest.raises(ProfileError, match="pds needs a profile with QCStatements"):
        profiles_from_config({"tls-client": {"pds": {"en": PDS_EN}}})


def test_bad_profile_in_config_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"trustkit\.toml"):
        CAConfig.from_mapping({"ca": {"name": "x"}, "profiles": {"p": {"colour": 1}}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "needs a \\[ca\\] table"),
        ({"ca": {"name": "Not A Slug"}}, "URL-safe"),
        ({"ca": {"name": "x"}, "urls": {"base": "ftp://x"}}, "http"),
        ({"ca": {"name": "x"}, "crl": {"next_update_hours": -1}}, "positive"),
        ({"ca": {"name": "x"}, "crl": {"shards": "many"}}, "whole number"),
        # Found while fuzzing trustkit.toml (docs/fuzzing.md): these raised TypeError, OverflowError
        # and ValueError instead of ConfigError (docs/fuzzing.md).
        ({"ca": {"name": "x"}, "urls": {"ocsp": 5}}, "http"),
        ({"ca": {"name": "x"}, "crl": {"next_update_hours": float("inf")}}, "positive"),
        ({"ca": {"name": "x"}, "crl": {"next_update_hours": 1e300}}, "at most"),
        ({"ca": {"name": "x"}, "crl": {"next_update_hours": float("nan")}}, "positive"),
    ],
)
def test_bad_config(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CAConfig.from_mapping(data)


def test_config_round_trip() -> None:
    config = CAConfig(name="citizen-ca", base_url="http://pki.example.gov", crl_shards=4)
    import tomllib

    again = CAConfig.from_mapping(tomllib.loads(config.to_toml().decode()))
    assert again == config


def test_chain_and_name_settings_from_toml() -> None:
    profiles = profiles_from_config(
        {
            "intranet": {
                "base": "tls-server",
                "cabf_names": False,
                "max_sans": 500,
                "may_outlive_issuer": True,
                "purpose": "tls-client",
            }
        }
    )
    intranet = profiles["intranet"]
    assert (intranet.cabf_names, intranet.max_sans, intranet.may_outlive_issuer) == (
        False,
        500,
        True,
    )
    assert intranet.purpose is Purpose.TLS_CLIENT
    # The twin: the built-in keeps the CA/Browser Forum rules and its purpose.
    server = get_profile("tls-server")
    assert server.cabf_names and server.purpose is Purpose.TLS_SERVER
    assert server.max_sans == 100 and not server.may_outlive_issuer
