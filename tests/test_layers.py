"""The import-layer rule of docs/architecture.md, enforced on every module."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "trustkit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# validation must stand alone: a relying party needs no CA (architecture.md).
FORBIDDEN = {"trustkit.validation": ("trustkit.ca", "trustkit.store", "trustkit.service")}


def _layer_table() -> dict[str, int]:
    text = ARCHITECTURE.read_text()
    section = text[text.index("## Layers") :]
    table: dict[str, int] = {}
    for row in re.finditer(r"^\| (\d) [a-z]+ \| (.+?) \|", section, re.MULTILINE):
        layer = int(row.group(1))
        for entry in re.findall(r"`([^`]+)`", row.group(2)):
            table["trustkit." + entry.rstrip("/").replace("/", ".")] = layer
    return table


TABLE = _layer_table()


def layer_of(module: str) -> int | None:
    """The layer of the longest table entry that names ``module``."""
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in TABLE:
            return TABLE[prefix]
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package: str) -> list[str]:
    """Every ``trustkit.*`` name that ``path``, a module of ``package``, imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    found.extend(f"{target}.{alias.name}" for alias in node.names)
                else:
                    found.append(target)
            elif node.module:
                found.append(node.module)
                found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return [name for name in found if name.startswith("trustkit.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_table_is_read() -> None:
    assert TABLE["trustkit.errors"] == 0
    assert TABLE["trustkit.validation"] == 5
    assert layer_of("trustkit.cms.sign") == 4
    assert layer_of("trustkit.cms.verify") == 5
    assert layer_of("trustkit.no_such_module") is None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_respect_layers(path: Path) -> None:
    module = _module_name(path)
    own = layer_of(module) if module != "trustkit.__init__" else TABLE["trustkit.__init__"]
    assert own is not None, f"{module} is not in the layer table of docs/architecture.md"
    package = ".".join(path.relative_to(ROOT).parent.parts)
    for target in _imports(path, package):
        target_layer = layer_of(target)
        if target_layer is None:
            # ``from trustkit.x import name``: the name, not a module, was appended.
            continue
        assert target_layer <= own, (
            f"{module} (layer {own}) imports {target} (layer {target_layer})"
        )
        for prefix, banned in FORBIDDEN.items():
            if module.startswith(prefix):
                assert not target.startswith(banned), f"{module} must not import {target}"


def test_a_violation_is_caught(tmp_path: Path) -> None:
    """The twin: a layer-1 module importing layer 3 is reported."""
    fake = tmp_path / "trustkit" / "names.py"
    fake.parent.mkdir()
    fake.write_text("from .ca import CertificateAuthority\n")
    imports = _imports(fake, "trustkit")
    assert "trustkit.ca" in imports
    assert max(layer_of(i) or 0 for i in imports) > layer_of("trustkit.names")  # type: ignore[operator]


ASN1_PACKAGE = PACKAGE / "_asn1"


def _imports_asn1crypto(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] == "asn1crypto" for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] == "asn1crypto":
                return True
    return False


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_asn1crypto_only_in_asn1(path: Path) -> None:
    """architecture.md: trustkit/_asn1/ is the only place asn1crypto is used."""
    if ASN1_PACKAGE in path.parents:
        return
    assert not _imports_asn1crypto(path), f"{path.relative_to(ROOT)} imports asn1crypto"


def test_an_asn1crypto_import_is_caught(tmp_path: Path) -> None:
    """The twin: both import forms are seen, and the package itself does use it."""
    for line in ("import asn1crypto.x509\n", "from asn1crypto import cms as _cms\n"):
        fake = tmp_path / "mod.py"
        fake.write_text(line)
        assert _imports_asn1crypto(fake)
    assert any(_imports_asn1crypto(p) for p in ASN1_PACKAGE.glob("*.py"))


def _loads_asn1crypto(*modules: str) -> bool:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += "print('asn1crypto' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return result.stdout.strip() == "True"


def test_asn1crypto_is_loaded_only_when_needed() -> None:
    """trustkit._asn1 imports a module on first use of one of its names (PEP 562): keys,
    requests, issuance and validation read curve encodings by DER headers and start
    without asn1crypto; the twin, CMS verification, loads it."""
    assert not _loads_asn1crypto(
        "trustkit.keys", "trustkit.csr", "trustkit.policy", "trustkit.ca", "trustkit.validation"
    )
    assert _loads_asn1crypto("trustkit.cms.verify")
