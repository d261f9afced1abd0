"""The documentation cannot rot: its examples run, its links resolve, its commands exist.

- Every ```python block of docs/library.md and docs/quickstart.md runs, in
  order, in one namespace per page (the pages are written as one Python
  session), in an empty directory with a fixed ``$TRUSTKIT_PASSPHRASE``.
  library.md keeps a CA key on a PKCS#11 token, so its run gets a SoftHSM2
  token labelled ``national-root`` with the module and PIN in the
  environment, as the page says.
- Every relative link in docs/*.md and README.md names a file that exists,
  and a ``#fragment`` into a Markdown file names one of its headings.
- Every ``trustkit COMMAND [SUBCOMMAND]`` in code of those pages is a
  command of the CLI (``trustkit.cli.cli``).

Each check has a twin that feeds it a broken page and expects it to complain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest

from trustkit.cli import cli

if TYPE_CHECKING:
    from tests.hsm_token import SoftHSM

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([*DOCS.glob("*.md"), ROOT / "README.md"])
RUNNABLE = ("library.md", "quickstart.md")
DOCS_PASSPHRASE = "documentation examples passphrase"
HSM_TOKEN = "national-root"
"""The token label library.md's HSM example names."""

_FENCE_RE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK_RE = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")
_COMMAND_RE = re.compile(r"(?:^|[\s`(|;&])trustkit((?:[ \t]+\S+)+)")
_SEPARATOR_RE = re.compile(r"\s#|\||;|&&|>")
_SUBSHELL_RE = re.compile(r"\$\(([^()]*)\)")
_WORD_RE = re.compile(r"[a-z][a-z0-9-]*")
_LONG_OPTION_RE = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*")


# --- helpers, each checked below on a page with a mistake in it ------------------------


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Every ```python block of ``text``: the line its code starts on, and the code."""
    return [
        (text.count("\n", 0, match.start(2)) + 1, match.group(2))
        for match in _FENCE_RE.finditer(text)
        if match.group(1) == "python"
    ]


def run_blocks(text: str, filename: str) -> dict[str, object]:
    """Run the page's Python blocks in order in one namespace, as one session.

    Each block is compiled with its own line numbers in ``filename``, so a
    failure's traceback points at the line of the page.
    """
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for line, code in python_blocks(text):
        exec(compile("\n" * (line - 1) + code, filename, "exec"), namespace)
    return namespace


def _without_fences(text: str) -> str:
    """``text`` with fenced blocks blanked out, keeping the line count."""
    return _FENCE_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _without_code(text: str) -> str:
    """``text`` with fenced blocks and inline code blanked out (links there are not links)."""
    return _INLINE_CODE_RE.sub("``", _without_fences(text))


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page."""
    anchors = set()
    for match in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", _without_fences(text), re.MULTILINE):
        title = match.group(1).replace("`", "").strip().lower()
        anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def broken_links(text: str, page: Path) -> list[str]:
    """Relative links of ``page`` (whose text is ``text``) that lead nowhere."""
    problems = []
    for match in _LINK_RE.finditer(_without_code(text)):
        target = match.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto:
        path_part, _, fragment = target.partition("#")
        if not path_part:
            if fragment not in heading_anchors(text):
                problems.append(f"{target}: no heading #{fragment} on this page")
            continue
        resolved = (page.parent / path_part).resolve()
        if not resolved.exists():
            problems.append(f"{target}: no file {resolved}")
        elif fragment and resolved.suffix == ".md":
            if fragment not in heading_anchors(resolved.read_text(encoding="utf-8")):
                problems.append(f"{target}: no heading #{fragment} in {resolved.name}")
    return problems


def _code_text(text: str) -> list[str]:
    """The code of a page where commands are written: shell-like fences and inline code.

    ``python`` fences are run elsewhere; ``text`` fences hold program output.
    """
    chunks = [m.group(2) for m in _FENCE_RE.finditer(text) if m.group(1) not in {"python", "text"}]
    chunks += _INLINE_CODE_RE.findall(_without_fences(text))
    return chunks


def invocations(text: str) -> list[list[str]]:
    """The words after each ``trustkit`` in the code of ``text``, up to a shell separator.

    Continuation lines are joined and ``$(...)`` substitutions read on their
    own, so ``trustkit revoke $(...) \\`` followed by ``--reason x`` is one
    invocation.
    """
    found = []
    for chunk in _code_text(text):
        joined = chunk.replace("\\\n", " ")
        subshells = _SUBSHELL_RE.findall(joined)
        for line in [*_SUBSHELL_RE.sub("X", joined).splitlines(), *subshells]:
            for match in _COMMAND_RE.finditer(line):
                words = _SEPARATOR_RE.split(match.group(1), maxsplit=1)[0].split()
                if words:
                    found.append(words)
    return found


def _options(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def unknown_commands(text: str) -> list[str]:
    """Commands, subcommands and ``--options`` in ``trustkit ...`` code that the CLI lacks."""
    ctx = click.Context(cli)
    known = set(cli.list_commands(ctx))
    problems = []
    for words in invocations(text):
        command = cli.get_command(ctx, words[0]) if words[0] in known else None
        if command is None:
            problems.append(f"trustkit {words[0]}")
            continue
        name = f"trustkit {words[0]}"
        if isinstance(command, click.Group) and len(words) > 1 and _WORD_RE.fullmatch(words[1]):
            sub = command.get_command(ctx, words[1])
            if sub is None:
                problems.append(f"{name} {words[1]}")
                continue
            command, name = sub, f"{name} {words[1]}"
        for option in _LONG_OPTION_RE.findall(" ".join(words)):
            if option not in _options(command):
                problems.append(f"{name} {option}")
    return problems


# --- the examples run -------------------------------------------------------------------


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with the environment the pages assume."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRUSTKIT_PASSPHRASE", DOCS_PASSPHRASE)
    for name in ("TRUSTKIT_CA", "TRUSTKIT_NEW_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("name", RUNNABLE)
def test_page_has_examples(name: str) -> None:
    assert python_blocks((DOCS / name).read_text(encoding="utf-8")), f"{name}: no python blocks"


def test_quickstart_examples_run(example_dir: Path) -> None:
    page = DOCS / "quickstart.md"
    namespace = run_blocks(page.read_text(encoding="utf-8"), str(page))
    assert (example_dir / "py-tls-ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert "tls_ca" in namespace


def test_library_examples_run(
    example_dir: Path, softhsm: SoftHSM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.hsm_token import USER_PIN

    softhsm.create_token(HSM_TOKEN)
    monkeypatch.setenv("TRUSTKIT_PKCS11_MODULE", softhsm.module)
    monkeypatch.setenv("TRUSTKIT_PKCS11_PIN", USER_PIN)
    page = DOCS / "library.md"
    namespace = run_blocks(page.read_text(encoding="utf-8"), str(page))
    # The page's claims, checked on what it made.
    assert not (example_dir / "hsm-root" / "ca.key").exists()
    assert "pkcs11:token=national-root" in (example_dir / "hsm-root" / "trustkit.toml").read_text()
    assert (example_dir / "alice.key").stat().st_mode & 0o777 == 0o600
    assert (example_dir / "citizen-ca" / "ocsp-signer.pem").exists()
    assert namespace["signer"] is not None


def test_failing_example_is_reported() -> None:
    page = "```python\nvalue = 1\n```\n\ntext\n\n```python\nassert value == 2, 'wrong'\n```\n"
    with pytest.raises(AssertionError, match="wrong") as info:
        run_blocks(page, "broken.md")
    tb = info.value.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    assert (tb.tb_frame.f_code.co_filename, tb.tb_lineno) == ("broken.md", 8)


def test_other_languages_are_not_run() -> None:
    page = "```sh\nexit 1\n```\n```pycon\n>>> 1/0\n```\n```python\nx = 1\n```\n"
    assert [code for _, code in python_blocks(page)] == ["x = 1\n"]


# --- links ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page.read_text(encoding="utf-8"), page) == []


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# Some title: here\n\n## `trustkit` and more\n")
    page = tmp_path / "page.md"
    text = (
        "[ok](there.md) [ok](there.md#some-title-here) [ok](there.md#trustkit-and-more) "
        "[web](https://example.gov/x) [self](#top) [self](#bottom)\n# Top\n"
        "[gone](missing.md) [bad anchor](there.md#nowhere)\n"
        "`[in code](missing-too.md)`\n```\n[in a block](missing-three.md)\n```\n"
    )
    assert broken_links(text, page) == [
        "#bottom: no heading #bottom on this page",
        f"missing.md: no file {tmp_path / 'missing.md'}",
        "there.md#nowhere: no heading #nowhere in there.md",
    ]


# --- commands ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_commands_exist(page: Path) -> None:
    assert unknown_commands(page.read_text(encoding="utf-8")) == []


def test_unknown_commands_are_found() -> None:
    text = (
        "Run `trustkit issue --ca x` and `trustkit frobnicate`.\n"
        "```sh\ntrustkit key generate -o k.pem\ntrustkit key destroy -o k.pem\n"
        "x=$(trustkit lst --ca y)\n"
        "trustkit revoke --ca ca $(openssl x509 -in c.pem -noout -serial | cut -d= -f2) \\\n"
        "    --reason keyCompromise --why-not\n"
        "trustkit list --ca ca --json | jq --raw-output .  # --not-checked\n```\n"
        "```python\nfrom trustkit import nothing_checked_here\n```\n"
        "trustkit prose is not code. `trustkit validate --fetch` `trustkit verify --hostname`\n"
    )
    assert unknown_commands(text) == [
        "trustkit key destroy",
        "trustkit revoke --why-not",
        "trustkit lst",
        "trustkit frobnicate",
        "trustkit verify --hostname",
    ]
