"""Run every benchmark, print the table of issue 7 and write docs/performance.md.

::

    python -m benchmarks                  # full sizes (several minutes)
    python -m benchmarks --quick          # smaller sizes, shorter runs
    python -m benchmarks --only W4,W5     # the modules measuring these workloads
    python -m benchmarks --only W9        # peak memory reading large inputs (bench_input)
    python -m benchmarks --only scale --scale-issued 1000000 --scale-revoked 100000
    python -m benchmarks --only scale --scale-store postgresql+psycopg://user@host/tk_scale

Each ``benchmarks/bench_*.py`` runs as its own process with ``--json`` (and
``--quick``); its last output line, or the JSON list closing its output, holds
rows ``{"workload", "trustkit", "limit", "ratio", "unit", "peers"}``. A module
that fails or prints no rows is reported as not run, with the reason; the
others still count. ``ratio`` compares trustkit with the limit so that more
is better (rate / limit, or limit time / trustkit time); W15 (bench_scale) is the
exception: its "limit" is the empty store's figure and its ratio population / empty.
The population tables bench_scale writes (``--doc``) are sections of
docs/performance.md between ``<!-- scale:BACKEND -->`` markers, kept when the
page is rewritten.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "performance.md"

TARGETS = {
    "W1": "at least 0.7 of the limit on one core with the store write; both cores ahead of "
    "cfssl (4,400/s)",
    "W1b": "under 150 ms per process; a batch mode",
    "W2": "at least 0.9 of the limit",
    "W3": "at least 0.8 of the limit",
    "W4": "under 0.3 s: ahead of openssl ca -gencrl",
    "W5": "cached: ahead of cfssl (7,600/s); nonce: limited only by signing",
    "W6": "ahead of openssl verify; with a CRL check at least half of that",
    "W6b": "pathological chains refused or validated well under a second each",
    "W9": "peak memory a small constant times the input (ratio 0.1 or more), the same at "
    "1, 16 and 64 MiB",
    "W15": "population / empty store at most 1.5 (here the ratio is that, less is better)",
}
"""The targets of issue 7, by workload."""


@dataclass
class Module:
    """One bench_*.py file and what it gave."""

    name: str
    workloads: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    output: str = ""
    problem: str | None = None
    seconds: float = 0.0


def _workloads(path: Path) -> list[str]:
    """The workloads a module names on its first docstring line (``W2/W3: ...``)."""
    first = path.read_text().split("\n", 1)[0]
    head = first.split(":", 1)[0] if ":" in first else ""
    return re.findall(r"W\d+b?", head)


def _rows(stdout: str) -> list[dict[str, object]] | None:
    """The JSON list of rows at the end of ``stdout`` (one line, or indented)."""
    lines = stdout.rstrip().splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if not lines[start].startswith("["):
            continue
        try:
            rows = json.loads("\n".join(lines[start:]))
        except json.JSONDecodeError:
            continue
        if isinstance(rows, list) and all(isinstance(row, dict) for row in rows):
            return rows
    return None


def run_module(module: Module, quick: bool, timeout: float) -> None:
    """Run ``module`` as ``python -m benchmarks.NAME --json [--quick]`` and keep its rows."""
    command = [sys.executable, "-m", f"benchmarks.{module.name}", "--json"]
    if quick:
        command.append("--quick")
    start = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        module.problem = f"stopped after {timeout:.0f} s"
        return
    finally:
        module.seconds = time.monotonic() - start
    rows = _rows(result.stdout)
    module.output = result.stdout
    if "unrecognized arguments" in result.stderr:
        module.problem = "does not take --json/--quick yet"
    elif result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        module.problem = f"exit {result.returncode}: {last}"
    elif rows is None:
        module.problem = "printed no JSON rows"
    else:
        module.rows = rows
        return
    # Keep what the output says, for the report.
    module.output = (result.stdout + result.stderr)[-4000:]


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and abs(value) < 100 and value != int(value):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}"
    return f"{value:,.0f}"


def _ratio(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, int | float) else str(value)


def _target(workload: str) -> str:
    match = re.match(r"(W\d+b?)", workload)
    return TARGETS.get(match.group(1), "") if match else ""


def table(modules: list[Module]) -> list[str]:
    """The markdown table of every row, in workload order."""
    lines = [
        "| workload | limit (pyca in-process) | trustkit | ratio | peers | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    rows = [row for module in modules for row in module.rows]
    rows.sort(key=lambda row: _sort_key(str(row.get("workload", ""))))
    for row in rows:
        unit = str(row.get("unit", ""))
        peers = row.get("peers") or {}
        peer_text = (
            "; ".join(f"{name} {_number(value)}" for name, value in peers.items())
            if isinstance(peers, dict)
            else str(peers)
        )
        limit, ours = row.get("limit"), row.get("trustkit")
        lines.append(
            f"| {row.get('workload')} | {'-' if limit is None else f'{_number(limit)} {unit}'} "
            f"| {'-' if ours is None else f'{_number(ours)} {unit}'} | {_ratio(row.get('ratio'))} "
            f"| {peer_text} | {_target(str(row.get('workload', '')))} |"
        )
    return lines


def _sort_key(workload: str) -> int:
    # By workload number only: a module's rows keep their order.
    match = re.search(r"W(\d+)", workload)
    return int(match.group(1)) if match else 99


def machine() -> str:
    """CPU model, cores, Python, cryptography and OpenSSL versions, date."""
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cli = subprocess.run(
            ["openssl", "version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        cli = "no openssl command"
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"cryptography {cryptography.__version__} ({backend.openssl_version_text()}); "
        f"{cli} (command line); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


SCALE_INTRO = (
    "The same operations on a CA with an empty store and on one with a population, built "
    "through trustkit's own API (`benchmarks/bench_scale.py` says how). Per-operation "
    "figures are compared as population / empty (target: at most 1.5); whole-population "
    "operations are given with their cost per item. `trustkit list` and `trustkit export`"
    " run as child processes: their peak memory (maxrss, mostly the interpreter and its "
    "imports) is the same on the empty store and on the population, where `list` read the"
    " whole store before (421 MB and 14.6 s for 206,000 certificates). Each backend's "
    "section says what size it was run at and what size was not run."
)
"""The paragraph above bench_scale's sections."""

SCALE_SECTIONS = re.compile(r"<!-- scale:(\w+) -->.*?<!-- /scale:\1 -->", re.S)
"""bench_scale's tables, one per backend: each run of it replaces its own."""


def kept_sections() -> list[str]:
    """The population-scale sections of the current docs/performance.md."""
    if not REPORT.exists():
        return []
    return [match.group(0) for match in SCALE_SECTIONS.finditer(REPORT.read_text())]


def report(modules: list[Module], quick: bool, command: str) -> str:
    """docs/performance.md: the machine, the table, what was not run, each module's output,
    and the population-scale sections kept from the page as it was."""
    out = [
        "# Performance",
        "",
        f"Last run of `{command}` ({'quick' if quick else 'full'} sizes). Generated by the "
        "runner (`benchmarks/__main__.py`); do not edit by hand.",
        "",
        f"Machine: {machine()}.",
        "",
        "The limit is the raw pyca/cryptography operation trustkit wraps, in-process; the "
        "ratio is trustkit against it, more is better (a rate over the limit's rate, or the "
        "limit's time over trustkit's time). Peers marked *issue figure* are not installed "
        "here: their figures are those of issue 7, measured on this kind of machine.",
        "",
        *table(modules),
        "",
    ]
    missing = [module for module in modules if module.problem]
    if missing:
        out += ["## Not run", ""]
        out += [f"- `{m.name}` ({', '.join(m.workloads) or '-'}): {m.problem}" for m in missing]
        out.append("")
    out += ["## Each benchmark's own output", ""]
    for module in modules:
        text = module.output.rstrip()
        if module.rows:
            text = text[: text.rfind("\n[")] if "\n[" in text else text
        out += [
            f"### {module.name} ({', '.join(module.workloads) or 'no workload'}, "
            f"{module.seconds:.0f} s)",
            "",
            "```text",
            text or "(no output)",
            "```",
            "",
        ]
    kept = kept_sections()
    if kept:
        out += ["## Population scale (bench_scale)", "", SCALE_INTRO, ""]
        out += [f"{section}\n" for section in kept]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--only", help="workloads to run, such as W1,W4 (modules naming them)")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per module (600 quick, 3600 full)"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the table, leave docs/performance.md"
    )
    parser.add_argument("--scale-issued", type=int, help="bench_scale: certificates issued")
    parser.add_argument("--scale-revoked", type=int, help="bench_scale: of them revoked at once")
    parser.add_argument("--scale-store", help="bench_scale: a PostgreSQL URL (default SQLite)")
    args = parser.parse_args(argv)
    # bench_scale reads its sizes from the environment the runner passes on.
    for name, value in (
        ("TRUSTKIT_SCALE_ISSUED", args.scale_issued),
        ("TRUSTKIT_SCALE_REVOKED", args.scale_revoked),
        ("TRUSTKIT_SCALE_STORE", args.scale_store),
    ):
        if value is not None:
            os.environ[name] = str(value)
    wanted = {w.strip() for w in args.only.split(",")} if args.only else None
    modules = [
        Module(path.stem, _workloads(path))
        for path in sorted((ROOT / "benchmarks").glob("bench_*.py"))
    ]
    if wanted is not None:
        modules = [
            m
            for m in modules
            if wanted & set(m.workloads) or m.name.removeprefix("bench_") in wanted
        ]
        if not modules:
            parser.error(f"--only {args.only}: no module measures these")
    timeout = args.timeout or (600.0 if args.quick else 3600.0)
    for module in modules:
        print(f"running {module.name} ...", file=sys.stderr, flush=True)
        run_module(module, args.quick, timeout)
        state = module.problem or f"{len(module.rows)} rows"
        print(f"  {module.name}: {state} ({module.seconds:.0f} s)", file=sys.stderr, flush=True)
    print("\n".join(table(modules)))
    for module in modules:
        if module.problem:
            print(f"not run: {module.name} ({', '.join(module.workloads)}): {module.problem}")
    if not args.no_write:
        command = "python -m benchmarks" + (" --quick" if args.quick else "")
        if args.only:
            command += f" --only {args.only}"
        REPORT.write_text(report(modules, args.quick, command) + "\n")
        print(f"wrote {REPORT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
