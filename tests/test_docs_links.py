"""The README and docs/ link only to files and headings that exist, and stay self-contained.

Every relative Markdown link `[text](target)` in README.md, docs/*.md and bench/RESULTS.md must
name a file of the repository, and its `#fragment`, if any, a heading of that file under GitHub's
anchor rule. Links inside code blocks and inline code are not links.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "RESULTS.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 220

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) or [text](target "title"); not images' inner brackets spanning lines.
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_EXTERNAL = ("http://", "https://", "mailto:")


def _outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but `-`, `_` and spaces removed,
    spaces turned into `-`."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)  # code spans keep their text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in _outside_fences(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every Markdown link outside code."""
    return [
        (number, match.group(1))
        for number, line in _outside_fences(path.read_text(encoding="utf-8"))
        for match in _LINK.finditer(_INLINE_CODE.sub("", line))
    ]


def broken_links(page: Path) -> list[str]:
    problems = []
    for number, target in links(page):
        if target.startswith(_EXTERNAL):
            continue
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        file_part, _, fragment = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if file_part:
            if not linked.is_relative_to(ROOT):
                problems.append(f"{where}: outside the repository")
                continue
            if not linked.exists():
                problems.append(f"{where}: no such file")
                continue
        if fragment:
            if linked.is_dir() or linked.suffix.lower() != ".md":
                problems.append(f"{where}: an anchor into a file that is not Markdown")
            elif fragment not in anchors(linked):
                problems.append(f"{where}: no heading with that anchor")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert page.exists()
    assert broken_links(page) == []


def test_the_checker_sees_a_broken_link_and_a_broken_anchor() -> None:
    page = ROOT / "docs" / "README.md"
    good = links(page)
    assert good, "docs/README.md links to the pages"
    assert "1-stack" in anchors(ROOT / "docs" / "design.md")
    fake = ROOT / "docs" / "_broken_link_probe.md"
    try:
        fake.write_text(
            "[gone](no-such-page.md) [bad](design.md#99-nothing) [ok](design.md#1-stack)\n"
            "`[code](not-a-link.md)`\n",
            encoding="utf-8",
        )
        problems = broken_links(fake)
    finally:
        fake.unlink()
    assert len(problems) == 2
    assert "no such file" in problems[0] and "no heading" in problems[1]


def test_slug_follows_github() -> None:
    assert slug("9.2 The `hf` format") == "92-the-hf-format"
    assert slug("Parallel conversion (`--jobs N`)") == "parallel-conversion---jobs-n"
    assert slug("Redaction cost: `bench/bench_redact.py`") == "redaction-cost-benchbench_redactpy"
    assert slug("Loading the output with Hugging Face `datasets`") == (
        "loading-the-output-with-hugging-face-datasets"
    )


def test_every_design_section_is_there() -> None:
    """Code comments cite "docs/design.md section N"; the numbers must not move."""
    headings = [
        line
        for line in (ROOT / "docs" / "design.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    ]
    numbers = [int(re.match(r"## (\d+)\. ", h).group(1)) for h in headings]
    assert numbers == list(range(1, 15))
    assert headings[0] == "## 1. Stack"
    assert headings[11].startswith("## 12. The viewer")
    assert headings[12].startswith("## 13. Compacted logs")
    assert headings[13].startswith("## 14. The Gemini API")


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


# The folder and the design document outside the repository that nothing here may cite (the
# name spelled in two pieces, so that this file does not cite it either).
OUTSIDE = ("../shared", "DESIGN" + ".md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_do_not_cite_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not any(outside in text for outside in OUTSIDE)


_CITATION = re.compile(r"docs/([\w-]+\.md)(?: section (\d+(?:\.\d+)*))?")
_SOURCES = sorted(
    path
    for folder in ("albicilla", "tests", "bench")
    for path in (ROOT / folder).rglob("*.py")
    if path.name != "test_docs_links.py"
)


def _section_numbers(page: Path) -> set[str]:
    """The numbers that start the page's headings: `## 9. ...` gives 9, `### 9.2 ...` 9.2."""
    numbers = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", line)
        if match:
            numbers.add(match.group(1))
    return numbers


@pytest.mark.parametrize("source", _SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_cites_only_docs_of_the_repository(source):
    """Comments and tests cite docs/<page>.md (section N), which must exist; never a design
    document outside the repository."""
    text = source.read_text(encoding="utf-8")
    assert not any(outside in text for outside in OUTSIDE)
    assert not re.search(r"reference/\w+\.md", text)
    for page, section in _CITATION.findall(text):
        path = ROOT / "docs" / page
        assert path.is_file(), f"{source.name} cites docs/{page}, which does not exist"
        if section:
            assert section in _section_numbers(path), f"{source.name}: docs/{page} {section}"
