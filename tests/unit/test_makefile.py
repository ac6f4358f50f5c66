"""The Makefile explains itself: every public target (.PHONY) has a ``## `` comment and ``make
help`` prints it; ``unit``, ``integration`` and ``test`` run the tests they say they run."""

from __future__ import annotations

import re
import subprocess

import pytest

from local.lambda_loader import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()


def _phony() -> list[str]:
    declared = re.search(r"^\.PHONY:((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)
    assert declared, "the Makefile declares no .PHONY targets"
    return declared.group(1).replace("\\\n", " ").split()


PHONY = _phony()
DESCRIBED = dict(re.findall(r"^([A-Za-z][\w-]*):[^=\n]*?## (.+)$", MAKEFILE, re.MULTILINE))


def make(*args: str) -> str:
    run = subprocess.run(
        ["make", "--no-print-directory", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return run.stdout


def test_every_public_target_has_a_description_and_only_those():
    missing = [target for target in PHONY if not DESCRIBED.get(target, "").strip()]
    assert not missing, f"targets without a `## what it does` comment: {missing}"
    assert set(DESCRIBED) <= set(PHONY), "a described target is missing from .PHONY"


def test_make_help_prints_every_target_with_its_description():
    listed = make("-s", "help")
    for target in PHONY:
        line = f"make {target} "
        assert any(
            row.strip().startswith(line) and row.rstrip().endswith(DESCRIBED[target].strip())
            for row in listed.splitlines()
        ), f"make help does not list {target} with its description"


def _pytest_command(*args: str) -> str:
    [command] = [line for line in make("-n", *args).splitlines() if " -m pytest " in line]
    return command.split("; rc=")[0]


@pytest.mark.parametrize(
    ("target", "paths"),
    [("unit", "tests/unit"), ("integration", "tests/integration"), ("test", "tests")],
)
def test_the_test_targets_run_their_folder(target, paths):
    command = _pytest_command(target)
    assert command.split()[-1] == paths
    assert "not slow" not in command
    assert '-m "not slow"' in _pytest_command(target, "FAST=1")
