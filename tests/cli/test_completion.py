"""``trustkit completion SHELL`` prints click's script; in bash, it completes profile names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trustkit.cli import cli
from trustkit.profiles import BUILTIN_PROFILES

CUSTOM_PROFILE = "citizen-portal"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _trustkit_completion trustkit"),
        ("zsh", "#compdef trustkit"),
        ("fish", "complete --no-files --command trustkit"),
    ],
)
def test_completion_prints_the_script(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert marker in result.stdout and "_TRUSTKIT_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["completion", "tcsh"])
    assert result.exit_code == 2 and "bash" in result.stderr


@pytest.fixture
def ca_with_a_profile(tmp_path: Path) -> Path:
    ca = tmp_path / "ca"
    result = CliRunner().invoke(
        cli,
        ["init", "--ca", str(ca), "--subject", "CN=Completion Root,C=EX"],
        env={"TRUSTKIT_PASSPHRASE": "completion-passphrase", "TRUSTKIT_CA": ""},
    )
    assert result.exit_code == 0, result.output
    with (ca / "trustkit.toml").open("a") as toml:
        toml.write(f'\n[profiles.{CUSTOM_PROFILE}]\nbase = "tls-client"\n')
    return ca


def _complete_in_bash(tmp_path: Path, line: str) -> list[str]:
    """What bash offers for the last word of ``line``, through the script trustkit prints."""
    bash = shutil.which("bash")
    assert bash is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # The script calls `trustkit` by name: this one runs the code under test.
    wrapper = bin_dir / "trustkit"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m trustkit.cli "$@"\n')
    wrapper.chmod(0o755)
    words = line.split(" ")
    script = (
        'eval "$(trustkit completion bash)"\n'
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_trustkit_completion trustkit\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("TRUSTKIT_CA", None)
    done = subprocess.run(
        [bash, "--norc", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    return [w for w in done.stdout.splitlines() if w]


@pytest.mark.interop
def test_bash_completes_the_cas_own_profiles(tmp_path: Path, ca_with_a_profile: Path) -> None:
    offered = _complete_in_bash(tmp_path, f"trustkit issue --ca {ca_with_a_profile} --profile ")
    assert set(offered) == {*BUILTIN_PROFILES, CUSTOM_PROFILE}
    offered = _complete_in_bash(tmp_path, f"trustkit issue --ca {ca_with_a_profile} --profile ci")
    assert offered == ["citizen-auth", CUSTOM_PROFILE]


@pytest.mark.interop
def test_bash_completes_built_in_profiles_outside_a_ca(tmp_path: Path) -> None:
    # The twin: no CA here, so only the built-in names, and no error.
    offered = _complete_in_bash(tmp_path, "trustkit issue --profile ci")
    assert offered == ["citizen-auth"]
    assert set(_complete_in_bash(tmp_path, "trustkit issue --profile ")) == set(BUILTIN_PROFILES)


@pytest.mark.interop
def test_bash_completes_command_names(tmp_path: Path) -> None:
    assert _complete_in_bash(tmp_path, "trustkit li") == ["lint", "list"]
