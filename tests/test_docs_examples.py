"""The documentation cannot drift from the code: its examples run, its links resolve.

Every ```python block of README.md and docs/**/*.md is executed against the
local PostgreSQL and Redis. Blocks of one page share a namespace and run in
order, like the cells of a notebook; a top-level ``await`` runs on one event
loop per page. A block that is deliberately not runnable (it needs a web
request or your own service) is preceded by the line ``<!-- skip-example -->``.

The docs site is built with ``mkdocs build --strict`` (a broken link or anchor
fails), and the benchmark table the docs include must be the one
benchmarks/results.json renders to.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_MARK = "<!-- skip-example -->"
SQL_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
README_MAX_LINES = 300


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    source: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


_FENCE_OPEN = re.compile(r"(?P<indent>[ ]*)```(?P<lang>[A-Za-z0-9_+-]*)")


def extract_blocks(page: Path) -> list[Block]:
    """The fenced code blocks tagged ``python`` on ``page``, with their skip marks."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.fullmatch(lines[index].rstrip())
        if opening is None:
            index += 1
            continue
        indent = opening["indent"]
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != "```":
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1  # the closing fence
        if opening["lang"] != "python":
            continue
        previous = next((text.strip() for text in reversed(lines[:start]) if text.strip()), "")
        blocks.append(Block(page, start + 1, "\n".join(body) + "\n", previous == SKIP_MARK))
    return blocks


def documentation_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _pages_with_examples() -> list[Path]:
    return [
        page for page in documentation_pages() if any(not b.skipped for b in extract_blocks(page))
    ]


def run_page(page: Path) -> None:
    """Execute the page's runnable blocks in order in one namespace; raise naming the block."""
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    loop = asyncio.new_event_loop()
    try:
        for block in extract_blocks(page):
            if block.skipped:
                continue
            try:
                code = compile(
                    block.source, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
                )
                result = eval(code, namespace)  # the docs' own examples, compiled above
                if inspect.iscoroutine(result):
                    loop.run_until_complete(result)
            except Exception as exc:
                raise AssertionError(
                    f"the example at {block.where} fails: {type(exc).__name__}: {exc}"
                ) from exc
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def example_env(clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Local services only, a scratch working directory, no plotting window."""
    monkeypatch.setenv("SQL_URL", SQL_URL)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "page", _pages_with_examples(), ids=lambda page: str(page.relative_to(ROOT))
)
def test_examples_run(page: Path, example_env: Path) -> None:
    run_page(page)


def test_examples_are_found_and_few_are_skipped() -> None:
    blocks = [block for page in documentation_pages() for block in extract_blocks(page)]
    runnable = [block for block in blocks if not block.skipped]
    skipped = [block.where for block in blocks if block.skipped]
    assert len(runnable) >= 30, "the examples were not found: did the fence syntax change?"
    assert len(skipped) <= 6, f"too many examples are marked not runnable: {skipped}"


def test_skip_marks_precede_python_blocks() -> None:
    # A mark that skips nothing (a typo, a moved block) would silently hide the next example.
    for page in documentation_pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, text in enumerate(lines):
            if text.strip() != SKIP_MARK:
                continue
            following = next((t.strip() for t in lines[number + 1 :] if t.strip()), "")
            assert following == "```python", (
                f"{page.name}:{number + 1}: {SKIP_MARK} not before a python block"
            )


def test_extract_blocks_reads_marks_and_indented_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n\n```python\nx = 1\n```\n\n<!-- skip-example -->\n```python\nboom()\n```\n"
        "\n- item\n\n    ```python\n    y = x + 1\n    ```\n\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(page)
    assert [(b.source, b.skipped) for b in blocks] == [
        ("x = 1\n", False),
        ("boom()\n", True),
        ("y = x + 1\n", False),
    ]


def test_readme_is_the_front_door() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    first = re.search(r"```bash\n(.*?)\n```", text, re.S)
    assert first is not None and text.index("```") == first.start()
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["bash scripts/main.sh", "bash scripts/test.sh"]
    # Every relative link and image of the README points at a file that exists.
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [
        t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")
    ]
    assert any(t.startswith("docs/screenshots/") for t in local)
    missing = [t for t in local if t and not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_benchmark_table_is_rendered_from_results_json() -> None:
    from benchmarks._harness import load_rows, markdown_table

    rows = load_rows(ROOT / "benchmarks" / "results.json")
    assert rows, "benchmarks/results.json is missing or empty"
    rendered = (ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8")
    assert rendered == markdown_table(rows) + "\n", (
        "benchmarks/results.md is not what results.json renders to: run `python -m benchmarks`"
    )
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert '--8<-- "benchmarks/results.md"' in page


def test_readme_shows_the_latest_benchmark_figures() -> None:
    """The README's table is the one results.json renders to: no figure typed by hand."""
    from benchmarks._harness import load_rows, readme_with_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = load_rows(ROOT / "benchmarks" / "results.json")
    assert readme == readme_with_table(readme, rows), (
        "README.md's benchmark table is not what results.json renders to: run "
        "`python -m benchmarks` (or its write_readme_table)"
    )


def test_readme_lists_every_svc_nb_command() -> None:
    import argparse

    from svc_nb import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in sub.choices if f"svc-nb {name}" not in readme]
    assert not missing, f"README.md does not show: {missing}"


def test_api_overview_names_exist() -> None:
    import importlib

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    names = re.findall(r"^\| `(svc_nb(?:\.\w+)+)` \|", page, re.M)
    assert len(names) >= 50, "the API overview tables were not found"
    missing = []
    for dotted in names:
        module_name, _, attribute = dotted.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(dotted)
            continue
        if not hasattr(module, attribute):
            missing.append(dotted)
    assert not missing, f"docs/api.md documents names that do not exist: {missing}"


def test_cause_tables_name_real_codes() -> None:
    # A docs table whose first column is "cause" lists codes a Finding really carries.
    from svc_nb import causes

    known = causes.codes()
    named: list[str] = []
    for page in documentation_pages():
        in_cause_table = False
        for line in page.read_text(encoding="utf-8").splitlines():
            if not line.startswith("|"):
                in_cause_table = False
            elif line.startswith("| cause |"):
                in_cause_table = True
            elif in_cause_table and not line.startswith("|---"):
                first_cell = line.split("|")[1]
                named += re.findall(r"`([a-z][a-z0-9_]*)`", first_cell)
    assert named, "no cause table found (docs/webhooks.md has one)"
    assert not sorted(set(named) - known), (
        f"unknown cause codes in the docs: {sorted(set(named) - known)}"
    )


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "pymdownx"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install mkdocs mkdocs-material)")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    )
    assert (tmp_path / "site" / "benchmarks" / "index.html").exists()
