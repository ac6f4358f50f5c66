"""The README tells the truth about the repository: every `make` target it names exists, and
every file or folder it names (in backticks, or in its Layout tree) is in the repository."""

from __future__ import annotations

import re
import subprocess

import pytest

from local.lambda_loader import ROOT

README = (ROOT / "README.md").read_text()
EXTENSIONS = {"py", "json", "yaml", "yml", "toml", "txt", "cfg", "md", "sh", "java", "csv", "ftl"}


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


def readme_paths() -> set[str]:
    inline = {t for t in re.findall(r"`([^`\n]+)`", README) if _looks_like_a_path(t)}
    return inline | set(layout_paths())


def layout_paths() -> list[str]:
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
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


@pytest.mark.parametrize("path", sorted(readme_paths()))
def test_every_path_the_readme_names_exists(path):
    assert _exists(path), f"README.md names {path}, which is not in the repository"


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README))
    assert named, "the README names no make target"
    assert named <= targets, f"README.md names make targets the Makefile lacks: {named - targets}"


def test_a_missing_path_is_caught():
    assert not _exists("local/no_such_module.py")
    assert _looks_like_a_path("local/no_such_module.py")
