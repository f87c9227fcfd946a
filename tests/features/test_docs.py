"""The documentation stays true: no dead relative links, every command listed, the API's examples run.

The link check reads README.md, CONTRIBUTING.md, the pull-request template and every
plugins/*/README.md. A relative link must point at an existing file or folder inside the repository;
an ``#anchor`` into a Markdown file (or into the same file) must name one of its headings, slugged as
GitHub does: the heading's text (inline code, emphasis and link markup dropped) lower-cased, every
character that is not a letter, digit, underscore, hyphen or space removed, each space turned into a
hyphen, and ``-1``, ``-2``, ... appended to repeated slugs. Links with a scheme (``https:``,
``mailto:``) are not fetched.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / ".github" / "pull_request_template.md"]
    + list((ROOT / "plugins").glob("*/README.md")),
)

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
# [text](target "title") and ![alt](target); the text may span lines and hold one level of brackets.
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
_HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_HTML_ANCHOR = re.compile(r"<[a-z]+\s[^>]*?(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def without_fences(text: str) -> str:
    """``text`` with its fenced code blocks blanked (line numbers kept)."""
    lines, fence = [], None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def without_code(text: str) -> str:
    """``text`` with fenced code blocks blanked and inline code spans removed (line numbers kept)."""
    return _INLINE_CODE.sub(lambda m: "\n" * m.group(0).count("\n"), without_fences(text))


def links(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, target)`` of every inline, reference-style and HTML link of a Markdown text."""
    prose = without_code(text)
    for pattern in (_INLINE_LINK, _REFERENCE, _HTML_LINK):
        for match in pattern.finditer(prose):
            target = match.group(1)
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            yield prose.count("\n", 0, match.start(1)) + 1, target.strip()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's Markdown source text, e.g. ``--plugin`` keeps both hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_, not snake_case
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a Markdown text defines: its headings' slugs (repeats numbered) and HTML ids."""
    found: set[str] = set()
    counts: dict[str, int] = {}

    def add(heading: str) -> None:
        base = slug(heading)
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")

    lines = without_fences(text).split("\n")
    for i, line in enumerate(lines):
        if match := _ATX.match(line):
            add(match.group(2))
        elif (
            i > 0
            and re.fullmatch(r"\s{0,3}(=+|-+)\s*", line)
            and lines[i - 1].strip()
            and not lines[i - 1].lstrip().startswith(("|", "-", "*", "#", ">"))
            and not _ATX.match(lines[i - 1])
        ):  # setext heading: the line above, underlined
            add(lines[i - 1])
    found.update(_HTML_ANCHOR.findall(text))
    return found


def broken_links(doc: Path, root: Path = ROOT) -> list[str]:
    """One line per dead relative link of ``doc``: ``file:line: target: why``."""
    text = doc.read_text(encoding="utf-8")
    problems = []
    for line, target in links(text):
        if not target or _SCHEME.match(target):
            continue
        path_part, _, fragment = target.partition("#")
        path_part = unquote(path_part.split("?")[0])
        if path_part.startswith("/"):
            resolved = (root / path_part.lstrip("/")).resolve()
        elif path_part:
            resolved = (doc.parent / path_part).resolve()
        else:
            resolved = doc.resolve()
        where = f"{doc.relative_to(root)}:{line}: ({target})"
        if resolved != root.resolve() and root.resolve() not in resolved.parents:
            problems.append(f"{where}: points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}: {resolved.relative_to(root.resolve())} does not exist")
            continue
        if fragment and resolved.is_file() and resolved.suffix.lower() in (".md", ".markdown"):
            defined = anchors(resolved.read_text(encoding="utf-8"))
            if unquote(fragment) not in defined:
                close = sorted(a for a in defined if a[:4] == unquote(fragment)[:4])[:3]
                hint = f" (close: {', '.join(close)})" if close else ""
                problems.append(f"{where}: {resolved.relative_to(root.resolve())} has no heading #{fragment}{hint}")
    return problems


# --------------------------------------------------------------------------- the checks on this repository
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files_and_headings(doc):
    if not doc.exists():
        pytest.skip(f"{doc.relative_to(ROOT)} does not exist")
    problems = broken_links(doc)
    assert not problems, f"dead links in {doc.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_readme_lists_every_climb_command():
    from climb_harness.cli import main

    usage = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in main.commands if not re.search(rf"^climb {re.escape(name)}\b", usage, re.M)]
    assert not missing, f"README.md's command list lacks: {', '.join(missing)}"


def test_contributing_documents_the_plugin_option_and_the_new_commands():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "Loading a plugin that is not installed: --plugin" in text
    for needle in ("climb new", "--dest", "climb show", "climb list --json", "climb validate", "climb check"):
        assert needle in text, needle


def test_api_examples_run():
    import climb_harness.api

    failed, attempted = doctest.testmod(climb_harness.api, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


# --------------------------------------------------------------------------- the checker itself
def test_slugs_follow_github():
    assert slug("Using the real pretrained ViLT (`dandelin/vilt-b32-mlm`)") == "using-the-real-pretrained-vilt-dandelinvilt-b32-mlm"
    assert slug("`stable-sgd` — Stable SGD") == "stable-sgd--stable-sgd"
    assert slug("Options and where the defaults come from") == "options-and-where-the-defaults-come-from"
    assert slug("**Bold** _emphasis_ and snake_case") == "bold-emphasis-and-snake_case"
    assert slug("[A link](x.md) heading") == "a-link-heading"
    assert slug("Loading a plugin that is not installed: --plugin") == "loading-a-plugin-that-is-not-installed---plugin"
    assert slug("Déjà vu?") == "déjà-vu"
    assert anchors("# Tests\n\n## Tests\n\nIntro\n=====\n\n```\n# not a heading\n```\n## `api.py` (the API)\n") == {
        "tests", "tests-1", "intro", "apipy-the-api"}


def test_links_skip_code_and_find_every_form():
    text = (
        "See [a](a.md) and ![img](img/x.png \"title\").\n"
        "`[not](code.md)`\n"
        "```\n[neither](fenced.md)\n```\n"
        "[ref]: ref/target.md\n"
        "[multi\nline](multi.md#part) <a href=\"html.md\">x</a> [web](https://example.org)\n"
    )
    assert list(sorted(links(text))) == [
        (1, "a.md"), (1, "img/x.png"), (6, "ref/target.md"), (8, "html.md"), (8, "https://example.org"), (8, "multi.md#part"),
    ]


def test_broken_links_names_the_file_the_line_and_the_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Set-up steps\n")
    (tmp_path / "README.md").write_text(
        "# Top\n"
        "[ok](docs/guide.md#set-up-steps) [ok too](#top) [folder](docs) [site](https://x.invalid/nowhere)\n"
        "[gone](missing.md)\n"
        "[bad anchor](docs/guide.md#setup)\n"
        "[outside](../elsewhere.md)\n"
        "[self](#nope)\n"
    )
    problems = broken_links(tmp_path / "README.md", tmp_path)
    assert len(problems) == 4, problems
    assert problems[0].startswith("README.md:3: (missing.md): ") and "does not exist" in problems[0]
    assert problems[1].startswith("README.md:4: (docs/guide.md#setup): ") and "no heading #setup" in problems[1]
    assert "outside the repository" in problems[2]
    assert problems[3].startswith("README.md:6: (#nope)")
