"""Each example's imports are declared: trustkit's own requirements or the extra that
examples/README.md tells a reader to install for that example."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _canonical(requirement: str) -> str:
    name = re.split(r"[<>=!~\[;\s]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> tuple[set[str], dict[str, set[str]]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")

    def lines(text: str) -> set[str]:
        return {_canonical(line) for line in text.splitlines() if line.strip()}

    base = lines(config["options"]["install_requires"])
    extras = {name: lines(value) for name, value in config["options.extras_require"].items()}
    return base, extras


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"trustkit", "__future__"}


def _extras_named_for(example: str) -> set[str]:
    readme = (EXAMPLES / "README.md").read_text()
    row = next((line for line in readme.splitlines() if line.startswith(f"| `{example}` |")), None)
    assert row is not None, f"examples/README.md: no install line for {example}"
    assert "pip install" in row, row
    return {e for group in re.findall(r"\.\[([\w,]+)\]", row) for e in group.split(",")}


def undeclared(example: str) -> set[str]:
    """The distributions ``example`` imports that neither trustkit nor its README's extras
    bring."""
    base, extras = _requirements()
    declared = set(base)
    for extra in _extras_named_for(example):
        declared |= extras[extra]
    distributions = packages_distributions()
    missing = set()
    for module in set().union(*(_imports(p) for p in (EXAMPLES / example).glob("*.py"))):
        names = {_canonical(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing.add(module)
    return missing


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_example_imports_are_declared(example: str) -> None:
    assert undeclared(example) == set()


def test_an_undeclared_import_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The twin: h11 without the examples extra is reported, as it was before the extra.
    readme = (EXAMPLES / "README.md").read_text()
    changed = readme.replace(
        "`pip install -e '.[examples]'` (pyOpenSSL", "`pip install -e '.[tls]'` ("
    )
    assert changed != readme
    fake = tmp_path / "examples"
    fake.mkdir()
    (fake / "README.md").write_text(changed)
    (fake / "e_service_login").symlink_to(EXAMPLES / "e_service_login")
    monkeypatch.setattr(sys.modules[__name__], "EXAMPLES", fake)
    assert undeclared("e_service_login") == {"h11"}
