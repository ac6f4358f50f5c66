"""The README and the reference in docs/ tell the truth about the repository: every `make` target
they name exists, every file or folder they name (in backticks, or in the Layout tree of
docs/development.md) is in the repository, and every relative link resolves, anchors included.
The README stays a quick start."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from local.lambda_loader import ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
EXTENSIONS = {"py", "json", "yaml", "yml", "toml", "txt", "cfg", "md", "sh", "java", "csv", "ftl"}
#: The reference pages the README's quick start points at (issue 25).
REFERENCE = {
    "actions.md", "inbound.md", "templates.md", "errors.md", "operations.md", "workflows.md",
    "performance.md", "development.md",
}  # fmt: skip
README_MAX_LINES = 400


def _tracked() -> list[str]:
    run = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stdout.split()


TRACKED = _tracked()
TOP_LEVEL = {path.split("/")[0] for path in TRACKED}


def _name(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def _exists(path: str) -> bool:
    path = path.rstrip("/")
    if (ROOT / path).exists():
        return True
    # named relative to its package or folder (`twilio_connector/redaction.py`, `app.py`)
    return any(f == path or f.endswith("/" + path) or f"/{path}/" in f"/{f}" for f in TRACKED)


def _looks_like_a_path(token: str) -> bool:
    if any(mark in token for mark in ("<", ">", "...", "*", "$", "{", " ", "=", ":", "?")):
        return False
    if token.startswith(("/", "../", "http", ".aws-sam", ".venv", "-")):
        return False  # URLs, API paths, the shared folder, build outputs
    extension = token.rsplit(".", 1)[-1] if "." in token.split("/")[-1] else ""
    return extension in EXTENSIONS or (token.split("/")[0] in TOP_LEVEL and "/" in token)


def prose(text: str) -> str:
    """The text outside fenced code blocks (a fence may be indented, in a list item)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(doc.read_text()).splitlines():
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            base = slug(match.group(1))
            anchor, n = base, 0
            while anchor in found:  # GitHub numbers repeated headings
                n += 1
                anchor = f"{base}-{n}"
            found.add(anchor)
    return found


def links(doc: Path) -> list[str]:
    """Relative link targets: `[text](target)` outside code blocks and code spans."""
    text = re.sub(r"`[^`\n]*`", "", prose(doc.read_text()))
    targets = re.findall(r"\[[^\]\n]*\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"[a-z]+:", t)]  # not https:, mailto:


def broken_link(doc: Path, target: str) -> str | None:
    """Why `target`, linked from `doc`, does not resolve; None when it does."""
    path, _, anchor = target.partition("#")
    destination = (doc.parent / path).resolve() if path else doc
    if not destination.exists():
        return f"{path} does not exist"
    if anchor and (destination.suffix != ".md" or anchor not in anchors(destination)):
        return f"{path or _name(doc)} has no heading #{anchor}"
    return None


def named_paths() -> set[tuple[str, str]]:
    named = {
        (_name(doc), token)
        for doc in DOCS
        for token in re.findall(r"`([^`\n]+)`", doc.read_text())
        if _looks_like_a_path(token)
    }
    return named | {("docs/development.md", path) for path in layout_paths()}


def layout_paths() -> list[str]:
    text = (ROOT / "docs" / "development.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    paths, parents = [], {}
    for line in block.splitlines():
        token = line.split()[0].rstrip(",") if line.strip() else ""
        indent = len(line) - len(line.lstrip())
        pathlike = "/" in token or "." in token or token in TOP_LEVEL
        if not token or indent >= 20 or not pathlike or "<" in token:
            continue
        path = parents.get(indent - 2, "") + token
        parents[indent] = path if path.endswith("/") else parents.get(indent - 2, "")
        paths.append(path)
    return paths


def test_the_layout_is_read():
    assert "layers/connector/twilio_connector/errors.py" in layout_paths()
    assert "local/twilio_emulator/" in layout_paths()
    assert "docs/" in layout_paths()


@pytest.mark.parametrize(("doc", "path"), sorted(named_paths()))
def test_every_path_the_docs_name_exists(doc, path):
    assert _exists(path), f"{doc} names {path}, which is not in the repository"


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_make_target_the_docs_name_exists(doc):
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", doc.read_text()))
    assert named <= targets, f"{_name(doc)} names targets the Makefile lacks: {named - targets}"


def test_the_readme_names_make_targets():
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README.read_text()))
    assert {"demo", "test", "invoke", "build"} <= named


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_relative_link_resolves(doc):
    broken = {target: why for target in links(doc) if (why := broken_link(doc, target))}
    assert not broken, f"{_name(doc)}: {broken}"


def test_the_readme_is_a_quick_start_that_links_the_reference():
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    assert {p.name for p in DOCS[1:]} == REFERENCE
    linked = {Path(target.partition("#")[0]).name for target in links(README)}
    assert linked >= REFERENCE, f"the README links no {sorted(REFERENCE - linked)}"
    for command in ("make demo", "make test", "make invoke", "sam deploy --guided"):
        assert command in text, command


def test_a_missing_path_is_caught():
    assert not _exists("local/no_such_module.py")
    assert _looks_like_a_path("local/no_such_module.py")


def test_a_broken_link_or_anchor_is_caught():
    assert slug("Inbound SMS (`InboundSmsFunction`)") == "inbound-sms-inboundsmsfunction"
    assert slug("VERIFY_START, VERIFY_CHECK") == "verify_start-verify_check"
    actions = ROOT / "docs" / "actions.md"
    assert broken_link(README, "docs/actions.md#send_sms") is None
    assert broken_link(README, "docs/actions.md#no-such-heading")
    assert broken_link(README, "docs/no_such_page.md")
    assert broken_link(actions, "#no-such-heading")
    assert broken_link(actions, "errors.md") is None  # relative to docs/, not the root
    assert links(README), "no link found in the README"
